package org.darwinmail.imap;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The heap the selected views of all IMAP sessions may hold together ({@link Selected}, {@link MessageTable}): half
 * of the JVM's maximum heap, one budget per JVM as the heap is. A SELECT that would go past it is refused with
 * {@code NO [LIMIT]} (RFC 5530 §3) instead of filling the heap: with the launcher's 320 MB, nine sessions holding a
 * mailbox of 100,000 messages once ended the server with an OutOfMemoryError; a view now costs about 90 bytes a
 * message, so the budget holds about 18 such sessions. A view already selected still grows with new mail past it.
 */
final class ViewBudget {
  static final ViewBudget SHARED = new ViewBudget(Runtime.getRuntime().maxMemory() / 2);

  private final long limit;
  private final AtomicLong used = new AtomicLong();

  ViewBudget(long limit) {
    this.limit = limit;
  }

  /** Takes {@code bytes} if they fit under the limit; false (nothing taken) otherwise. */
  boolean take(long bytes) {
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
  void force(long bytes) {
    used.addAndGet(bytes);
  }

  void give(long bytes) {
    used.addAndGet(-bytes);
  }

  long used() {
    return used.get();
  }

  long limit() {
    return limit;
  }
}
