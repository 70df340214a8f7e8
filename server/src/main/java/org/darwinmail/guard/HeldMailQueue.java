package org.darwinmail.guard;

/**
 * What the guard asks of the outbound queue (org.darwinmail.delivery) for the mail of a blocked account; the
 * queue's side is {@link QueueHold}. When an account is blocked its queued entries are held ({@link #hold}: pushed
 * out of the delivery schedule, durably, so a restart keeps them held); unblocking releases them (due now) or
 * deletes them. A delivery engine may also ask {@link SendGuard#held(String)} before each attempt of an entry
 * submitted by an account, and leave the entry untouched while it is held.
 */
public interface HeldMailQueue {
  /** Holds every queue entry submitted by {@code account}: none is attempted until {@link #released}. */
  void hold(String account);

  /** How many queue entries submitted by {@code account} are waiting. */
  int countQueued(String account);

  /** Deletes every queue entry submitted by {@code account} (its blobs become orphans); returns how many. */
  int deleteQueued(String account);

  /** The account's block was lifted: its entries are attempted now rather than at their next retry time. */
  void released(String account);
}
