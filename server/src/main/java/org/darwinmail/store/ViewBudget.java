package org.darwinmail.store;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The heap the mailboxes sessions hold in memory may take together ({@link MessageTable}: IMAP's selected mailboxes,
 * POP3's maildrops): half of the JVM's maximum heap, one budget per JVM as the heap is. A SELECT or a POP3 login
 * that would go past it is refused (IMAP {@code NO [LIMIT]}, RFC 5530 §3; POP3 {@code -ERR [SYS/TEMP]}, RFC 3206)
 * instead of filling the heap: with the launcher's 320 MB, nine IMAP sessions holding a mailbox of 100,000 messages
 * once ended the server with an OutOfMemoryError; a message now costs about 90 bytes, so the budget holds about 18
 * such sessions. An IMAP mailbox already selected still grows with new mail past it.
 */
public final class ViewBudget {
  public static final ViewBudget SHARED = new ViewBudget(Runtime.getRuntime().maxMemory() / 2);

  private final long limit;
  private final AtomicLong used = new AtomicLong();

  public ViewBudget(long limit) {
    this.limit = limit;
  }

  /** Takes {@code bytes} if they fit under the limit; false (nothing taken) otherwise. */
  public boolean take(long bytes) {
    while (true) {
      long u = used.get();
      if (u + bytes > limit) {
        return false;
      }
      if (used.compareAndSet(u, u + bytes)) {
        return true;
      }
    }
  }

  /** Takes {@code bytes} whatever the limit (a selected view growing with new mail). */
  public void force(long bytes) {
    used.addAndGet(bytes);
  }

  public void give(long bytes) {
    used.addAndGet(-bytes);
  }

  public long used() {
    return used.get();
  }

  public long limit() {
    return limit;
  }
}
