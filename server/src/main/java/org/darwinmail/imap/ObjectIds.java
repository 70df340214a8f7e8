package org.darwinmail.imap;

import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;

/**
 * The object identifiers of OBJECTID (RFC 8474), objectid = 1*255(ALPHA / DIGIT / "_" / "-"), each starting with a
 * letter (§3 recommends it). MAILBOXID is "F" and the mailbox row's id, which the database never hands out twice and
 * RENAME keeps (§4: the same across RENAME, never reused by another mailbox; renaming INBOX makes a new mailbox,
 * which gets a new id, and INBOX keeps its own). EMAILID is "M" and the SHA-256 of the message's bytes, the name of
 * its body in the blob store (§5.1: the same for the same immutable message in any mailbox, COPY and MOVE
 * included). THREADID is NIL: threads are not computed (§5.2 allows NIL then), so SEARCH THREADID matches nothing.
 */
final class ObjectIds {
  private ObjectIds() {}

  static String mailboxId(Mailbox m) {
    return "F" + m.id();
  }

  static String emailId(MessageRow r) {
    return "M" + r.blob();
  }
}
