package org.darwinmail.store;

import java.time.Instant;
import java.util.Set;

/** One message in one mailbox. The body is the blob {@code blob}; flags are {@link Flags} bits. */
public record MessageRow(long mailboxId, long uid, String blob, long size, Instant internalDate, int flags,
    Set<String> keywords, long modseq) {

  public boolean has(int flag) {
    return (flags & flag) != 0;
  }
}
