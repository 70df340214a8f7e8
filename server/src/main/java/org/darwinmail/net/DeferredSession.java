package org.darwinmail.net;

import io.netty.channel.ChannelFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * The session of a connection accepted before the server could run its protocol's sessions (issue 22, ARCHITECTURE.md
 * "Start-up"): it greets at once with the protocol's {@link Greeting}, and the client's first frame waits (on the
 * session's virtual thread, so the {@link SessionRunner} counts the session as busy, not idle) for the
 * {@link StartGate}; then the real session is made, takes over the connection, and gets that frame and every later
 * one as if it had greeted itself. A connection that stays silent meanwhile obeys its deadlines: the runner's
 * {@link Frames.Idle} or {@link Frames.Expired} goes to the real session when there is one by then, else the
 * protocol's closing line ends it. When the gate fails, the closing line goes to each waiting connection.
 */
public final class DeferredSession<C> extends Session {
  private final Greeting greeting;
  private final StartGate<C> gate;
  private final Function<C, Session> make;
  private final AtomicBoolean answered = new AtomicBoolean();
  private volatile Session real;

  /** @param make the protocol's session for this connection, once the gate gives its context */
  public DeferredSession(Greeting greeting, StartGate<C> gate, Function<C, Session> make) {
    this.greeting = greeting;
    this.gate = gate;
    this.make = make;
  }

  @Override
  protected void onConnect() {
    send(greeting.line(this));
    gate.waiting(this);
  }

  /** The greeting is answered from memory; after the gate opened, whatever the real session answers so. */
  @Override
  protected boolean inline(Object frame) {
    if (frame instanceof Frames.Connected) {
      return true;
    }
    Session s = real;
    return s != null && s.inline(frame);
  }

  @Override
  protected void onFrame(Object frame) {
    Session s = session(true);
    if (s != null) {
      s.dispatch(frame);
    }
  }

  @Override
  protected void onIdle() {
    end(new Frames.Idle());
  }

  @Override
  protected void onExpired() {
    end(new Frames.Expired());
  }

  /** A deadline passed: the real session says its goodbye, or (still waiting) the closing line ends it. */
  private void end(Object frame) {
    Session s = session(false);
    if (s != null) {
      s.dispatch(frame);
    } else {
      unavailable();
    }
  }

  @Override
  protected void onClose() {
    gate.left(this);
    Session s = real;
    if (s != null) {
      s.dispatch(new Frames.Closed());
    }
  }

  @Override
  protected void internalError() {
    Session s = real;
    if (s != null) {
      s.internalError();
    } else {
      super.internalError();
    }
  }

  @Override
  protected void flush() {
    super.flush();
    Session s = real;
    if (s != null) {
      s.flush();
    }
  }

  /** The real session: made once the gate opened (waiting for it when {@code wait}); null when it cannot be. */
  private Session session(boolean wait) {
    Session s = real;
    if (s != null) {
      return s;
    }
    C context = wait ? gate.await(this) : gate.now();
    if (context == null) {
      if (wait) {
        unavailable();
      }
      return null;
    }
    s = make.apply(context);
    s.adopt(this);
    gate.left(this);
    real = s;
    return s;
  }

  /** Sends the protocol's closing line and closes (once; from the gate's thread or the session's). */
  void unavailable() {
    if (real == null && answered.compareAndSet(false, true)) {
      send(greeting.unavailable());
      close();
    }
  }

  ChannelFuture closeFuture() {
    return channel.closeFuture();
  }
}
