package org.darwinmail.guard;

/**
 * What the outbound queue (org.darwinmail.delivery) offers the guard for the mail of a blocked account. The queue
 * itself asks {@link SendGuard#held(String)} before each delivery attempt of an entry submitted by an account, and
 * leaves the entry untouched (no attempt, no retry count, no bounce) while it is held. It registers itself with
 * {@link SendGuard#attachQueue(HeldMailQueue)}.
 */
public interface HeldMailQueue {
  /** How many queue entries submitted by {@code account} are waiting. */
  int countQueued(String account);

  /** Deletes every queue entry submitted by {@code account} (its blobs become orphans); returns how many. */
  int deleteQueued(String account);

  /** The account's block was lifted: attempt its entries now rather than at their next retry time. */
  void released(String account);
}
