package org.darwinmail.pop3;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The RETR answers one POP3 session has read ahead, complete (status line, byte-stuffed message, ".CRLF"), keyed by
 * message number, so that the event loop can send them without waiting for the disk (ARCHITECTURE.md, "Threading
 * model": a RETR found here is answered inline). A client retrieving its mail in order (what POP3 clients do) then
 * costs one hand-off to a virtual thread at its first RETR instead of one per message: the session refills what is
 * held from a virtual thread of its own when it runs {@link #low}.
 *
 * <p>Bounded twice: {@link #MAX_BYTES} per session and {@link #BUDGET} for all sessions together (direct memory from
 * Netty's pool). Thread-safe (every method holds the object's lock): the session's frames are handled one at a time
 * ({@code net.SessionRunner}), on the event loop or on the virtual thread, but a refill ({@code Pop3Session}) adds
 * answers from a virtual thread of its own meanwhile. The session holds the same lock where a deletion mark must
 * agree with what is held (DELE, RSET, a refill's put).
 */
final class ReadAhead {
  /** Most answers held by one session. */
  static final int MAX_MESSAGES = 32;
  /** Most bytes held by one session. */
  static final int MAX_BYTES = 256 * 1024;
  /** Most bytes held by all sessions of the JVM. */
  static final long BUDGET = 32L * 1024 * 1024;
  private static final AtomicLong held = new AtomicLong();

  private final ByteBuf[] answers = new ByteBuf[MAX_MESSAGES];
  private final int[] numbers = new int[MAX_MESSAGES];
  private int count;
  private int bytes;
  private boolean closed; // QUIT or a closed connection: nothing is held any more

  /** Whether the answer to RETR {@code msg} is here. */
  synchronized boolean has(int msg) {
    return indexOf(msg) >= 0;
  }

  /** Removes and returns the answer to RETR {@code msg}, now the caller's to release; null when not held. */
  synchronized ByteBuf take(int msg) {
    int i = indexOf(msg);
    if (i < 0) {
      return null;
    }
    ByteBuf b = answers[i];
    remove(i);
    return b;
  }

  /** Releases the answer for {@code msg}, if held (DELE: it will not be asked for). */
  synchronized void drop(int msg) {
    int i = indexOf(msg);
    if (i >= 0) {
      answers[i].release();
      remove(i);
    }
  }

  /** Whether an answer of {@code size} bytes may be added now. */
  synchronized boolean room(int size) {
    return count < MAX_MESSAGES && bytes + size <= MAX_BYTES && held.get() + size <= BUDGET;
  }

  /** Takes over {@code answer}, the complete answer to RETR {@code msg}; false (released) when there is no room. */
  synchronized boolean put(int msg, ByteBuf answer) {
    int size = answer.readableBytes();
    if (!closed && count < MAX_MESSAGES && bytes + size <= MAX_BYTES) {
      if (held.addAndGet(size) <= BUDGET) {
        answers[count] = answer;
        numbers[count] = msg;
        count++;
        bytes += size;
        return true;
      }
      held.addAndGet(-size); // another session took the last of the budget
    }
    answer.release();
    return false;
  }

  /**
   * Whether the session should read more ahead: at most half of what it may hold is held, so that a refill running
   * while the client retrieves what is left has room for a worthwhile batch.
   */
  synchronized boolean low() {
    return !closed && count <= MAX_MESSAGES / 2 && bytes <= MAX_BYTES / 2;
  }

  /** Releases everything held (QUIT, a closed connection); what a refill puts afterwards is released at once. */
  synchronized void close() {
    closed = true;
    while (count > 0) {
      answers[count - 1].release();
      remove(count - 1);
    }
  }

  private int indexOf(int msg) {
    for (int i = 0; i < count; i++) {
      if (numbers[i] == msg) {
        return i;
      }
    }
    return -1;
  }

  private void remove(int i) {
    int size = answers[i].readableBytes();
    bytes -= size;
    held.addAndGet(-size);
    count--;
    answers[i] = answers[count];
    numbers[i] = numbers[count];
    answers[count] = null;
  }
}
