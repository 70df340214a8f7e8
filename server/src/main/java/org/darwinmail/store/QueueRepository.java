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
 *
 * <p>Leases (issue 20: several nodes on one database). A node attempts only the recipients it holds a lease on:
 * taken by {@link #claim} (or at once by {@link #add} with a lease, for the mail it queues itself), kept alive by
 * {@link #renew}, given back by {@link #release}. While a recipient is leased its next attempt is the end of the
 * lease, so a node that dies leaves it due again then, for another node to claim. Each claim adds one to the
 * recipient's {@link Rcpt#token}, the fencing token: a failure is recorded ({@link #deferLeased},
 * {@link #removeLeased}) only with the token of the current lease, so a node that lost its lease (it stalled past
 * its end and another node claimed the recipient) cannot undo the new holder's work. A delivery is recorded
 * whatever the token ({@link #remove}): the recipient did get the message, and nobody must send it again.
 */
public interface QueueRepository {
  /**
   * Runs {@code fence} in each transaction that adds messages, before it commits, with their blob
   * ({@link BlobStore#fence}: several nodes).
   */
  default void fenceClaims(BlobStore.Fence fence) {}

  /** A queued message. */
  record Entry(long id, String sender, String blob, long size, boolean smtputf8, String account,
      Instant created, boolean warned) {}

  /**
   * A recipient still to deliver.
   *
   * @param attempts    attempts made that failed temporarily (the retry schedule's step)
   * @param nextAttempt when it is due; while leased, the end of the lease
   * @param leaseOwner  the node that holds its lease (the lease may have ended), or null
   * @param token       the number of claims so far: the fencing token of the current lease
   */
  record Rcpt(long id, long messageId, String recipient, String domain, int attempts, Instant nextAttempt,
      String lastError, String leaseOwner, int token) {
    /** Whether {@code owner}'s lease on it is still running at {@code now}. */
    public boolean leasedBy(String owner, Instant now) {
      return owner.equals(leaseOwner) && nextAttempt.isAfter(now);
    }
  }

  /** A lease: the node that takes it (a name unique among the nodes running now) and when it ends. */
  record Lease(String owner, Instant until) {}

  /**
   * Adds a message and its recipients, all due now; durable when it returns. Returns the recipient rows. Messages
   * added together may share one commit.
   */
  List<Rcpt> add(String sender, List<String> recipients, String blob, long size, boolean smtputf8, String account);

  /**
   * {@link #add}, the recipients leased to {@code lease}'s owner at once (token 1): the node that queues a message
   * attempts it, and no other node claims it meanwhile.
   */
  List<Rcpt> add(String sender, List<String> recipients, String blob, long size, boolean smtputf8, String account,
      Lease lease);

  /**
   * {@link #add} ({@code lease} null: due now) with the delivery trace's event of each recipient ({@code queued}:
   * {@code traced} given a row, its queue id set) inserted in the same transaction.
   */
  List<Rcpt> add(String sender, List<String> recipients, String blob, long size, boolean smtputf8, String account,
      Lease lease, java.util.function.Function<Rcpt, TraceRepository.Event> traced);

  /** Recipients due at {@code now}, oldest first, at most {@code limit}. */
  List<Rcpt> due(Instant now, int limit);

  /**
   * Takes up to {@code limit} recipients due at {@code now}, oldest first, under {@code lease}: their next attempt
   * becomes the lease's end, so no other claimer (another node) gets them before then, and a claimer that dies
   * leaves them due again when the lease ends; each one's token goes up by one. Two claimers at once never get the
   * same recipient. Returns the rows as claimed, in id order.
   */
  List<Rcpt> claim(Instant now, int limit, Lease lease);

  /**
   * Extends the leases {@code lease}'s owner holds on {@code held} (same token) to {@code lease}'s end. Returns the
   * rows still held, as renewed; a recipient missing from the answer was finished, or released, or claimed by
   * another node after its lease ended.
   */
  List<Rcpt> renew(List<Rcpt> held, Lease lease);

  /** Gives leases back (same owner and token): the recipients are due now, for any node. Returns how many. */
  int release(List<Rcpt> held, String owner);

  /**
   * Makes due now every recipient whose lease no running node can hold: on an engine that one process opens at a
   * time (Derby), every lease is the previous run's; on a shared one (PostgreSQL), none can be known to be
   * ({@link SqlDialect#oneProcess}), and the leases of a dead node end by themselves. Called when the delivery engine
   * starts. Returns how many.
   */
  int releaseOrphanedLeases(Instant now);

  /** When the first recipient not yet due at {@code now} becomes due, or null when there is none. */
  Instant nextDueAfter(Instant now);

  /** The recipients of one message still to deliver. */
  List<Rcpt> recipients(long messageId);

  Optional<Entry> message(long id);

  /** Every queued message with its recipients, oldest first (for {@code darwinmail queue list}). */
  Map<Entry, List<Rcpt>> list();

  /**
   * Removes recipients (delivered, or deleted by an administrator), then their message when none is left, whatever
   * their lease; durable when it returns. Removals finishing together may share one commit.
   */
  void remove(long messageId, List<Long> rcptIds);

  /** {@link #remove} with the delivery trace's events ({@code delivered}) inserted in the same transaction. */
  void remove(long messageId, List<Long> rcptIds, List<TraceRepository.Event> trace);

  /**
   * Records a temporary failure: one more attempt, the next one at {@code next}. Not fenced: ends any lease (an
   * attempt in flight then records nothing but a delivery); for an administrator's or the guard's hold.
   */
  void deferred(List<Long> rcptIds, Instant next, String error);

  /**
   * Records a temporary failure of an attempt under a lease: one more attempt, the next one at {@code next}, the
   * lease ended; only for the rows whose token is still the one given (fencing). Returns the ids recorded.
   */
  List<Long> deferLeased(List<Rcpt> held, Instant next, String error);

  /**
   * {@link #deferLeased} with the delivery trace's event of each row recorded ({@code traced} given the row)
   * inserted in the same transaction; none for a row another node holds now.
   */
  List<Long> deferLeased(List<Rcpt> held, Instant next, String error,
      java.util.function.Function<Rcpt, TraceRepository.Event> traced);

  /**
   * Removes recipients (bounced) whose token is still the one given (fencing), then their message when none is
   * left. Returns the ids removed.
   */
  List<Long> removeLeased(long messageId, List<Rcpt> held);

  /** {@link #removeLeased} with the delivery trace's event of each row removed inserted in the same transaction. */
  List<Long> removeLeased(long messageId, List<Rcpt> held,
      java.util.function.Function<Rcpt, TraceRepository.Event> traced);

  /** Records that the delay notice (RFC 3464 "delayed") was sent for this message. */
  void markWarned(long messageId);

  /**
   * Makes recipients due now: all of them, or those of the given messages; a recipient under a running lease is
   * left to its holder (its attempt is in flight or about to start). Returns how many.
   */
  int retryNow(List<Long> messageIds);

  /** Deletes messages from the queue without a bounce. Returns how many existed. */
  int delete(List<Long> messageIds);

  /** Does a queued message use this blob? (The start-up sweep keeps it.) */
  boolean blobReferenced(String hash);

  /** The blobs queued messages use whose hash starts with {@code prefix}, two hex digits (the start's sweep). */
  java.util.Set<String> blobsReferenced(String prefix);

  /** Number of recipients waiting. */
  long size();
}
