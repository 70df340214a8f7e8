package org.darwinmail.net;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What a listener's sessions need ({@code C}, a protocol's context: the store, the TLS context, the guard), ready
 * some time after the listener was bound (issue 22: the listeners are bound before the store opens). Until then a
 * connection is greeted by a {@link DeferredSession}, whose first command waits here. {@link #fail} answers every
 * waiting connection with its protocol's closing line before the server exits.
 */
public final class StartGate<C> {
  private final CompletableFuture<C> ready = new CompletableFuture<>();
  private final Set<DeferredSession<C>> waiting = ConcurrentHashMap.newKeySet();

  /** A gate already open (a server whose store opened before it listened, tests). */
  public static <C> StartGate<C> opened(C value) {
    StartGate<C> g = new StartGate<>();
    g.open(value);
    return g;
  }

  /** The sessions can run: the waiting ones go on with their first command. */
  public void open(C value) {
    ready.complete(value);
  }

  /** The value when the gate is open, else null (the listener then greets with a {@link DeferredSession}). */
  public C now() {
    return ready.isCompletedExceptionally() ? null : ready.getNow(null);
  }

  /**
   * The server cannot start: every waiting connection gets its protocol's closing line and is closed, and this
   * waits (at most {@code wait}) for those lines to be written, so that the process may exit after it.
   */
  public void fail(Throwable cause, Duration wait) {
    ready.completeExceptionally(cause);
    long deadline = System.nanoTime() + wait.toNanos();
    for (DeferredSession<C> s : waiting) {
      s.unavailable();
    }
    for (DeferredSession<C> s : waiting) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      s.closeFuture().awaitUninterruptibly(left, TimeUnit.NANOSECONDS);
    }
  }

  void waiting(DeferredSession<C> s) {
    waiting.add(s);
    if (ready.isCompletedExceptionally()) {
      s.unavailable(); // failed while this one was being greeted
    }
  }

  void left(DeferredSession<C> s) {
    waiting.remove(s);
  }

  /**
   * Waits for the gate on the session's virtual thread; null when it failed. Checks every second that the client is
   * still there (a client that hung up frees its thread; {@link Session#checkClient}).
   */
  C await(DeferredSession<C> s) {
    while (true) {
      try {
        return ready.get(1, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        s.checkClient();
      } catch (ExecutionException e) {
        return null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
  }
}
