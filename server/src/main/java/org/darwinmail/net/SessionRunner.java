package org.darwinmail.net;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the frames of one connection to its {@link Session}, one at a time and in order, on a virtual thread, so
 * that session code may block (storage, DNS) without ever blocking the event loop; frames the session answers
 * from memory ({@link Session#inline}) run on the event loop when nothing is queued before them. When frames pile
 * up (a client sending faster than the disk takes it), reading stops until the session catches up.
 *
 * <p>It also keeps the session's deadlines, by the clock of the event loop rather than by the input (a client
 * sending one byte a second must not keep a session alive): {@link Frames.Idle} when neither a whole frame (a
 * command line, a piece of message data) has arrived nor a write has completed for the command timeout while the
 * session was waiting for the client, and {@link Frames.Expired} when the session has lasted its lifetime. A
 * session that has not closed {@link #GRACE} after either is closed here.
 */
public final class SessionRunner extends ChannelDuplexHandler {
  private static final Logger log = LoggerFactory.getLogger(SessionRunner.class);
  private static final ExecutorService VIRTUAL = Executors.newVirtualThreadPerTaskExecutor();
  private static final int HIGH_WATER = 64;
  private static final int LOW_WATER = 8;

  /** How long a session told to end ({@link Frames.Idle}, {@link Frames.Expired}) has to say goodbye. */
  static final Duration GRACE = Duration.ofSeconds(30);

  private final Session session;
  private final long commandNanos;
  private final long lifetimeNanos;
  private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicBoolean running = new AtomicBoolean();
  private volatile ChannelHandlerContext ctx;
  private volatile boolean throttled;
  // The deadlines; touched on the event loop only.
  private long lastProgress;
  private ScheduledFuture<?> commandTimer;
  private ScheduledFuture<?> lifetimeTimer;
  private final ChannelFutureListener progress = f -> lastProgress = System.nanoTime();

  /**
   * @param commandTimeout how long the client may take to send a whole frame (a command line, the next piece of
   *                       a message) while the session waits for it; every protocol's idle timeout
   * @param lifetime       the longest a session may last; null for none
   */
  public SessionRunner(Session session, Duration commandTimeout, Duration lifetime) {
    this.session = session;
    this.commandNanos = commandTimeout.toNanos();
    this.lifetimeNanos = lifetime == null ? 0 : lifetime.toNanos();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    session.attach(ctx.channel());
    lastProgress = System.nanoTime();
    commandTimer = ctx.executor().schedule(this::checkCommand, commandNanos, TimeUnit.NANOSECONDS);
    if (lifetimeNanos > 0) {
      lifetimeTimer = ctx.executor().schedule(() -> end(new Frames.Expired()), lifetimeNanos, TimeUnit.NANOSECONDS);
    }
    enqueue(new Frames.Connected());
  }

  /**
   * The command deadline: the client has sent no whole frame and taken none of our output for the command
   * timeout while the session waited for it (a session busy with a frame, or holding reading back, is not waiting).
   */
  private void checkCommand() {
    long now = System.nanoTime();
    if (running.get()) {
      lastProgress = now;
    }
    long left = lastProgress + commandNanos - now;
    if (left > 0) {
      commandTimer = ctx.executor().schedule(this::checkCommand, left, TimeUnit.NANOSECONDS);
    } else {
      end(new Frames.Idle());
    }
  }

  /** Asks the session to say goodbye and close; closes the connection itself if that has not happened in time. */
  private void end(Object frame) {
    if (!ctx.channel().isActive()) {
      return;
    }
    cancelTimers();
    enqueue(frame);
    ctx.executor().schedule(() -> {
      if (ctx.channel().isActive()) {
        log.info("[{}] session did not end {} s after {}: closing", session.id(), GRACE.toSeconds(), frame);
        ctx.close();
      }
    }, GRACE.toNanos(), TimeUnit.NANOSECONDS);
  }

  private void cancelTimers() {
    if (commandTimer != null) {
      commandTimer.cancel(false);
    }
    if (lifetimeTimer != null) {
      lifetimeTimer.cancel(false);
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!promise.isVoid()) {
      promise.addListener(progress); // a client taking our output (a long download) is not idle
    }
    ctx.write(msg, promise);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    lastProgress = System.nanoTime();
    enqueue(msg);
    if (pending.get() > HIGH_WATER && !throttled) {
      throttled = true;
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelTimers();
    enqueue(new Frames.Closed());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof IOException) {
      log.debug("[{}] connection error: {}", session.id(), cause.getMessage());
    } else {
      log.warn("[{}] pipeline error: {}", session.id(), cause.toString());
    }
    ctx.close();
  }

  /**
   * Runs on the event loop (every caller is a channel event). A frame the session answers from memory
   * ({@link Session#inline}) is handled right here when nothing is queued before it: waking a virtual thread for it
   * would cost more than the answer (on a 2-core VM the wake-up was 11 % of the CPU of an SMTP benchmark).
   */
  private void enqueue(Object frame) {
    if (queue.isEmpty() && running.compareAndSet(false, true)) {
      try {
        if (session.inline(frame)) {
          session.dispatch(frame);
          session.flush();
          return;
        }
      } finally {
        running.set(false); // no drain started meanwhile: only the event loop enqueues
      }
    }
    queue.add(frame);
    pending.incrementAndGet();
    if (running.compareAndSet(false, true)) {
      VIRTUAL.execute(this::drain);
    }
  }

  private void drain() {
    Object frame;
    while ((frame = queue.poll()) != null) {
      int left = pending.decrementAndGet();
      session.dispatch(frame);
      if (throttled && left < LOW_WATER && ctx != null) {
        throttled = false;
        ctx.channel().config().setAutoRead(true);
      }
      if (queue.isEmpty()) {
        break; // the answers go out in release(), on the event loop: one hand-off back instead of two
      }
    }
    try {
      ctx.executor().execute(this::release);
    } catch (RejectedExecutionException e) {
      running.set(false); // the event loop is gone: no frame can follow
    }
  }

  /**
   * Ends a drain, on the event loop: flushes the answers the drain gathered (writing them here rather than from the
   * virtual thread saves a cross-thread task per drain), queued after the writes the drain handed over, so that an
   * answer given inline afterwards can never overtake them. A frame queued meanwhile starts the next drain.
   */
  private void release() {
    session.flush();
    if (queue.isEmpty()) {
      running.set(false);
    } else {
      VIRTUAL.execute(this::drain);
    }
  }
}
