package org.darwinmail.store;

import java.time.Instant;
import java.util.List;

/**
 * The delivery trace (V013, table {@code trace_events}): what happened to each message, one event per recipient,
 * kept across restarts and shared by the nodes of one PostgreSQL database. Written by {@code delivery.TraceLog};
 * read by the admin console's trace page and {@code darwinmail trace}.
 */
public interface TraceRepository {
  /** Texts are cut to this many characters (the detail column holds 1000). */
  int MAX_TEXT = 300;

  /**
   * One event.
   *
   * @param kind      received, queued, stored, delivered, deferred, bounced, lease lost, held, released, retried,
   *                  deleted
   * @param queueId   the queue entry's id, or 0 for a message not queued (received for local mailboxes)
   * @param messageId the Message-ID as written, or ""
   * @param recipient the recipient ("" for an event of the whole message)
   * @param client    the SMTP client's address, or "" (mail the server wrote itself; events after the first)
   * @param size      the message's size in bytes, or 0 when not known here
   * @param remote    the remote MTA that answered, or ""
   * @param detail    the remote answer, the mailbox, or what was done (and by whom)
   */
  record Event(Instant at, String kind, long queueId, String messageId, String sender, String recipient,
      String client, long size, String remote, String detail) {}

  /** One page of events, newest first; {@code more} when older ones match too. */
  record Page(List<Event> events, boolean more) {}

  /** Stores the events in one transaction. */
  void add(List<Event> events);

  /**
   * The events matching {@code query}, newest first, {@code limit} from {@code offset}: a queue id (digits) names a
   * queue entry; otherwise a recipient address or a Message-ID (with or without its angle brackets, any case) and,
   * for a Message-ID, every event of the queue entries it was queued as.
   */
  Page search(String query, int offset, int limit);

  /** Deletes the events before {@code before}, then the oldest beyond {@code maxRows}; returns how many went. */
  int prune(Instant before, long maxRows);

  /** The Message-ID in lower case without its angle brackets: the search key. */
  static String messageKey(String messageId) {
    String s = messageId == null ? "" : messageId.strip().toLowerCase(java.util.Locale.ROOT);
    return s.startsWith("<") && s.endsWith(">") ? s.substring(1, s.length() - 1).strip() : s;
  }
}
