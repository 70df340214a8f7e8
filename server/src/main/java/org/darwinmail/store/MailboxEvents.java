package org.darwinmail.store;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;

/**
 * Tells sessions that a mailbox changed (new message, flags, expunge), so that IMAP IDLE and other open sessions
 * learn of it at once. Listeners must not block: they note the change and return.
 */
public final class MailboxEvents {
  private final Map<Long, Set<LongConsumer>> listeners = new ConcurrentHashMap<>();

  /** Registers {@code listener} for changes of {@code mailboxId}; close the handle to stop. */
  public AutoCloseable subscribe(long mailboxId, LongConsumer listener) {
    listeners.computeIfAbsent(mailboxId, k -> ConcurrentHashMap.newKeySet()).add(listener);
    return () -> listeners.computeIfPresent(mailboxId, (k, set) -> {
      set.remove(listener);
      return set.isEmpty() ? null : set;
    });
  }

  /** Calls every listener of {@code mailboxId} with the mailbox id. */
  public void changed(long mailboxId) {
    Set<LongConsumer> set = listeners.get(mailboxId);
    if (set != null) {
      for (LongConsumer l : set) {
        l.accept(mailboxId);
      }
    }
  }
}
