package org.darwinmail.pop3;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which POP3 session holds which account's maildrop (RFC 1939 §8: "exclusive-access lock"; RFC 2449 §8.1.1
 * IN-USE). One instance serves both POP3 listeners. The lock is in memory: it goes when the session ends,
 * however it ends, and with the process. IMAP does not take it.
 */
public final class MaildropLocks {
  private final Map<Long, String> holders = new ConcurrentHashMap<>();

  /** Takes the lock of {@code accountId} for {@code sessionId}; false when another session holds it. */
  public boolean tryLock(long accountId, String sessionId) {
    return holders.putIfAbsent(accountId, sessionId) == null;
  }

  /** Releases the lock if {@code sessionId} holds it. */
  public void unlock(long accountId, String sessionId) {
    holders.remove(accountId, sessionId);
  }
}
