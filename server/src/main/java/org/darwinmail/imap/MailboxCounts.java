package org.darwinmail.imap;

import org.darwinmail.store.Flags;
import org.darwinmail.store.MailStore;
import org.darwinmail.store.MessageRow;

/**
 * What STATUS tells of a mailbox's messages (RFC 9051 §6.3.11, RFC 9208 §4.1.4, RFC 8438), counted in one pass over
 * its rows as they are read: no list of every row, whatever the mailbox's size.
 */
record MailboxCounts(long messages, long recent, long unseen, long deleted, long deletedSize, long size) {

  /** Counts {@code mailboxId}'s messages; those above {@code recentMark} are \Recent (Updates.recentMark). */
  static MailboxCounts of(MailStore mail, long mailboxId, long recentMark) {
    long[] c = new long[6];
    mail.eachMessage(mailboxId, (MessageRow r) -> {
      c[0]++;
      if (r.uid() > recentMark) {
        c[1]++;
      }
      if (!r.has(Flags.SEEN)) {
        c[2]++;
      }
      if (r.has(Flags.DELETED)) {
        c[3]++;
        c[4] += r.size();
      }
      c[5] += r.size();
    });
    return new MailboxCounts(c[0], c[1], c[2], c[3], c[4], c[5]);
  }
}
