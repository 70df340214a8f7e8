package org.darwinmail.imap;

import java.nio.charset.StandardCharsets;
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

  /** Drops a blob that was being written for a command that failed. */
  public void discard() {
    if (blob != null) {
      blob.abort();
    }
  }
}
