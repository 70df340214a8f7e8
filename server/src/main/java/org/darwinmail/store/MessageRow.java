package org.darwinmail.store;

import java.time.Instant;
import java.util.Set;

/**
 * One message in one mailbox. The body is the blob {@code blob}; flags are {@link Flags} bits; {@code saveDate} is
 * when it was saved into this mailbox (RFC 8514; V009).
 */
public record MessageRow(long mailboxId, long uid, String blob, long size, Instant internalDate, int flags,
    Set<String> keywords, long modseq, Instant saveDate) {

  /** A row whose save date is its internal date. */
  public MessageRow(long mailboxId, long uid, String blob, long size, Instant internalDate, int flags,
      Set<String> keywords, long modseq) {
    this(mailboxId, uid, blob, size, internalDate, flags, keywords, modseq, internalDate);
  }

  public boolean has(int flag) {
    return (flags & flag) != 0;
  }
}
