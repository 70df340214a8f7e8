package org.darwinmail.store;

/**
 * A mailbox of one account.
 *
 * @param name          UTF-8, hierarchy delimiter "/", "INBOX" for the inbox
 * @param specialUse    RFC 6154 use without the backslash ("Sent", "Trash", ...), or null
 * @param uidNext       the UID the next message will get; UIDs are never reused
 * @param highestModseq the modification sequence of the last change (RFC 7162)
 */
public record Mailbox(long id, long accountId, String name, String specialUse, boolean subscribed, long uidValidity,
    long uidNext, long highestModseq) {

  public static final String INBOX = "INBOX";
  public static final char DELIMITER = '/';
}
