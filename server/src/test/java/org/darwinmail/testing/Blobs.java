package org.darwinmail.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;

/** Bodies written straight into a blob store, for tests that build a store's rows by hand. */
public final class Blobs {
  private Blobs() {}

  /** {@code text} (UTF-8) as a committed blob. */
  public static BlobRef write(BlobStore blobs, String text) throws IOException {
    BlobStore.BlobWriter w = blobs.create();
    try (OutputStream o = w) {
      o.write(text.getBytes(StandardCharsets.UTF_8));
      return w.commit();
    }
  }
}
