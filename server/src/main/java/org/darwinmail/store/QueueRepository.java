package org.darwinmail.store;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The durable outbound queue: messages and the recipients still to deliver (tables queue_messages and
 * queue_recipients). A recipient row disappears when it is delivered or bounced, the message row with its last
 * recipient. {@link SqlQueueRepository} is the implementation (Derby and PostgreSQL); the delivery engine, the abuse guard's
 * hold and {@code darwinmail queue} all use one instance, made in {@code DarwinMail.Services}.
 */
public interface QueueRepository {
  /** A queued message. */
  record Entry(long id, String sender, String blob, long size, boolean smtputf8, String account,
      Instant created, boolean warned) {}

  /** A recipient still to deliver. */
  record Rcpt(long id, long messageId, String recipient, String domain, int attempts, Instant nextAttempt,
      String lastError) {}

  /**
   * Adds a message and its recipients, all due now; durable when it returns. Returns the recipient rows. Messages
   * added together may share one commit.
   */
  List<Rcpt> add(String sender, List<String> recipients, String blob, long size, boolean smtputf8, String account);

  /** Recipients due at {@code now}, oldest first, at most {@code limit}. */
  List<Rcpt> due(Instant now, int limit);

  /**
   * Takes up to {@code limit} recipients due at {@code now}, oldest first, for the caller until {@code leaseUntil}:
   * their next attempt becomes {@code leaseUntil}, so no other claimer (another node) gets them before then, and a
   * claimer that dies leaves them due again when the lease ends. Two claimers at once never get the same recipient.
   * Returns the rows as claimed (next attempt {@code leaseUntil}), in id order. Not used by the delivery engine
   * yet (issue 20: it reads {@link #due}, right for one node); {@code attempts} as a fencing token for
   * {@link #remove} and {@link #deferred} comes with that use.
   */
  List<Rcpt> claim(Instant now, int limit, Instant leaseUntil);

  /** When the first recipient not yet due at {@code now} becomes due, or null when there is none. */
  Instant nextDueAfter(Instant now);

  /** The recipients of one message still to deliver. */
  List<Rcpt> recipients(long messageId);

  Optional<Entry> message(long id);

  /** Every queued message with its recipients, oldest first (for {@code darwinmail queue list}). */
  Map<Entry, List<Rcpt>> list();

  /**
   * Removes recipients (delivered or bounced), then their message when none is left; durable when it returns.
   * Removals finishing together may share one commit.
   */
  void remove(long messageId, List<Long> rcptIds);

  /** Records a temporary failure: one more attempt, the next one at {@code next}. */
  void deferred(List<Long> rcptIds, Instant next, String error);

  /** Records that the delay notice (RFC 3464 "delayed") was sent for this message. */
  void markWarned(long messageId);

  /** Makes recipients due now: all of them, or those of the given messages. Returns how many. */
  int retryNow(List<Long> messageIds);

  /** Deletes messages from the queue without a bounce. Returns how many existed. */
  int delete(List<Long> messageIds);

  /** Does a queued message use this blob? (The start-up sweep keeps it.) */
  boolean blobReferenced(String hash);

  /** Number of recipients waiting. */
  long size();
}
