package org.darwinmail.imap;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;

/**
 * The bytes of one literal: small ones in memory, large ones (APPEND) already streaming into a blob writer so that no
 * big message is held in the heap (ARCHITECTURE.md, "The data path of one message").
 */
public record ImapLiteral(byte[] bytes, BlobStore.BlobWriter blob, long size) {
  public static ImapLiteral of(byte[] bytes) {
    return new ImapLiteral(bytes, null, bytes.length);
  }

  public String text() {
    return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
  }

  /** Stores the literal as a blob: the one being written when it was large, a new one when it is in memory. */
  public BlobRef commit(BlobStore blobs) throws IOException {
    BlobStore.BlobWriter w = blob;
    if (w == null) {
      w = blobs.create();
      w.write(bytes);
    }
    return w.commit();
  }

  /** Drops a blob that was being written for a command that failed. */
  public void discard() {
    if (blob != null) {
      blob.abort();
    }
  }
}
