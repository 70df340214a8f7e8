package org.darwinmail.pop3;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.darwinmail.store.ClusterLocks;

/**
 * Which POP3 session holds which account's maildrop (RFC 1939 §8: "exclusive-access lock"; RFC 2449 §8.1.1
 * IN-USE). One instance serves both POP3 listeners. The lock is in memory, and on several nodes (PostgreSQL) also
 * a {@link ClusterLocks} lock that every node honours: it goes when the session ends, however it ends, and with the
 * process (PostgreSQL frees a dead node's). IMAP does not take it.
 */
public final class MaildropLocks {
  private final Map<Long, String> holders = new ConcurrentHashMap<>();
  private final ClusterLocks cluster;

  /** One node: the in-memory lock alone. */
  public MaildropLocks() {
    this(ClusterLocks.LOCAL);
  }

  public MaildropLocks(ClusterLocks cluster) {
    this.cluster = cluster;
  }

  /**
   * Takes the lock of {@code accountId} for {@code sessionId}; false when another session, here or on another node,
   * holds it.
   */
  public boolean tryLock(long accountId, String sessionId) {
    if (holders.putIfAbsent(accountId, sessionId) != null) {
      return false;
    }
    boolean taken = false;
    try {
      taken = cluster.tryLock(ClusterLocks.MAILDROP, accountId);
      return taken;
    } finally {
      if (!taken) {
        holders.remove(accountId, sessionId);
      }
    }
  }

  /** Releases the lock if {@code sessionId} holds it. */
  public void unlock(long accountId, String sessionId) {
    if (sessionId.equals(holders.get(accountId))) {
      cluster.unlock(ClusterLocks.MAILDROP, accountId); // first: no session here takes it again meanwhile
      holders.remove(accountId, sessionId);
    }
  }
}
