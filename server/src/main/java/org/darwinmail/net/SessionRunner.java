package org.darwinmail.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the frames of one connection to its {@link Session}, one at a time and in order, on a virtual thread, so
 * that session code may block (storage, DNS) without ever blocking the event loop; frames the session answers
 * from memory ({@link Session#inline}) run on the event loop when nothing is queued before them. When frames pile
 * up (a client sending faster than the disk takes it), reading stops until the session catches up.
 */
public final class SessionRunner extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(SessionRunner.class);
  private static final ExecutorService VIRTUAL = Executors.newVirtualThreadPerTaskExecutor();
  private static final int HIGH_WATER = 64;
  private static final int LOW_WATER = 8;

  private final Session session;
  private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicBoolean running = new AtomicBoolean();
  private volatile ChannelHandlerContext ctx;
  private volatile boolean throttled;

  public SessionRunner(Session session) {
    this.session = session;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    session.attach(ctx.channel());
    enqueue(new Frames.Connected());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    enqueue(msg);
    if (pending.get() > HIGH_WATER && !throttled) {
      throttled = true;
      ctx.channel().config().setAutoRead(false);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    enqueue(new Frames.Closed());
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent) {
      enqueue(new Frames.Idle());
    } else {
      super.userEventTriggered(ctx, evt);
    }
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
        session.flush();
      }
    }
    try {
      ctx.executor().execute(this::release);
    } catch (RejectedExecutionException e) {
      running.set(false); // the event loop is gone: no frame can follow
    }
  }

  /**
   * Ends a drain, on the event loop: queued there after the writes the drain handed over, so that an answer given
   * inline afterwards can never overtake them. A frame queued meanwhile starts the next drain.
   */
  private void release() {
    if (queue.isEmpty()) {
      running.set(false);
    } else {
      VIRTUAL.execute(this::drain);
    }
  }
}
