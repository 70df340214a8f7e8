package org.darwinmail.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's protocol state machine. Frames arrive through {@link #onFrame} one at a time on a virtual thread
 * (see {@link SessionRunner}); replies are written with {@link #send} and flushed when the input is drained.
 * Unexpected exceptions become {@link #internalError} (a generic reply with the session id; the trace goes to the
 * log under that id).
 */
public abstract class Session {
  private static final Logger log = LoggerFactory.getLogger(Session.class);
  private String id = Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
  /** Replies gathered beyond this many bytes go to the channel without waiting for {@link #flush}. */
  private static final int PENDING_LIMIT = 64 * 1024;
  protected volatile Channel channel;
  private volatile boolean closed;
  private final Object out = new Object();
  private ByteBuf pending; // guarded by out

  final void attach(Channel ch) {
    this.channel = ch;
  }

  /** Takes over the connection (and the id, for the log) of the {@link DeferredSession} that greeted it. */
  final void adopt(Session greeter) {
    this.id = greeter.id;
    this.channel = greeter.channel;
  }

  public final String id() {
    return id;
  }

  final void dispatch(Object frame) {
    if (closed && !(frame instanceof Frames.Closed)) {
      return;
    }
    try {
      switch (frame) {
        case Frames.Connected c -> onConnect();
        case Frames.Closed c -> {
          closed = true;
          synchronized (out) {
            ByteBuf b = takePending();
            if (b != null) {
              b.release();
            }
          }
          onClose();
        }
        case Frames.Idle i -> onIdle();
        case Frames.Expired e -> onExpired();
        default -> onFrame(frame);
      }
    } catch (ClientGone e) {
      log.debug("[{}] client gone: the command was abandoned", id);
    } catch (Throwable e) {
      log.error("[{}] internal error", id, e);
      if (!closed) {
        internalError();
      }
    }
  }

  /**
   * The connection is open: send the greeting. A session started by a {@link DeferredSession} (a connection
   * accepted while the server was still opening its store) is not called: that greeting, made by the same function,
   * went out already, and the session's first frame is the client's first command.
   */
  protected abstract void onConnect();

  /**
   * True when {@code frame} (a frame for {@link #onFrame}, or {@link Frames.Connected}, {@link Frames.Closed},
   * {@link Frames.Idle}, {@link Frames.Expired}) is answered from memory, without storage, DNS, a password hash or a pause: it may then run
   * on the event loop (see {@link SessionRunner}). Called on the event loop when no frame is being handled.
   */
  protected boolean inline(Object frame) {
    return false;
  }

  protected abstract void onFrame(Object frame);

  /** The idle timeout passed: say goodbye and close. */
  protected abstract void onIdle();

  /** The session has lasted its maximum lifetime: say goodbye and close (by default, as {@link #onIdle}). */
  protected void onExpired() {
    onIdle();
  }

  /** The connection is gone: release what the session holds. */
  protected void onClose() {}

  /** Answers an unexpected failure; the default closes the connection. */
  protected void internalError() {
    close();
  }

  /**
   * Writes one line (CRLF appended), unflushed. Lines are gathered in one buffer and handed to the event loop on
   * {@link #flush} (or before any raw write), so that a reply of many lines costs one cross-thread write, not one
   * per line.
   */
  protected void send(String line) {
    synchronized (out) {
      if (pending == null) {
        pending = Unpooled.buffer(Math.max(256, line.length() + 2));
      }
      pending.writeCharSequence(line, StandardCharsets.UTF_8);
      pending.writeByte('\r').writeByte('\n');
      if (pending.readableBytes() >= PENDING_LIMIT) {
        writePending();
      }
    }
  }

  /**
   * Adds {@code buf} (whole lines, CRLF included) to the gathered reply and takes it over: when nothing is gathered
   * it becomes the gathered buffer itself, so that a reply built in one buffer (a POP3 download) goes to the socket
   * with the rest of the batch, in one cross-thread write and without a copy.
   */
  protected void send(ByteBuf buf) {
    synchronized (out) {
      if (pending == null) {
        pending = buf;
      } else {
        pending.writeBytes(buf);
        buf.release();
      }
      if (pending.readableBytes() >= PENDING_LIMIT) {
        writePending();
      }
    }
  }

  /** The gathered lines, now the caller's to write. Callers hold {@link #out}. */
  private ByteBuf takePending() {
    ByteBuf b = pending;
    pending = null;
    return b;
  }

  /** Hands the gathered lines to the channel (unflushed). Callers hold {@link #out}. */
  private void writePending() {
    ByteBuf b = takePending();
    Channel ch = channel;
    if (b != null) {
      if (ch != null) {
        ch.write(b);
      } else {
        b.release();
      }
    }
  }

  /** Writes {@code buf} after the lines sent so far (unflushed). */
  protected ChannelFuture sendRaw(ByteBuf buf) {
    synchronized (out) {
      writePending();
      return channel.write(buf);
    }
  }

  /**
   * The channel, for code that writes to it or changes its pipeline directly (STARTTLS, COMPRESS, streamed
   * downloads): the lines sent so far are written first, so that order is kept.
   */
  protected Channel channelAfterPending() {
    synchronized (out) {
      writePending();
      return channel;
    }
  }

  protected void flush() {
    Channel ch = channel;
    if (ch == null) {
      return;
    }
    synchronized (out) {
      ByteBuf b = takePending();
      if (b != null) {
        ch.writeAndFlush(b);
      } else {
        ch.flush();
      }
    }
  }

  protected void close() {
    closed = true;
    Channel ch = channel;
    if (ch != null) {
      synchronized (out) {
        ByteBuf b = takePending();
        ByteBuf last = b != null ? b : Unpooled.EMPTY_BUFFER;
        // On the loop, after the writes queued before it: there a listener of a write that failed at once is told
        // in place. From another thread, a loop that shut down meanwhile could not take the telling, and Netty logs
        // that as an error (a POP3 QUIT ending as the server stops).
        try {
          ch.eventLoop().execute(() -> ch.writeAndFlush(last).addListener(f -> ch.close()));
        } catch (java.util.concurrent.RejectedExecutionException e) {
          last.release(); // the server stopped: its loop, which closed every channel, takes no more tasks
        }
      }
    }
  }

  protected boolean isClosed() {
    return closed;
  }

  /**
   * Stops a long command (a search, a fetch or a listing going through many messages or mailboxes) whose client has
   * gone: work nobody will read must not hold a core (issue 23). The command's loops call this; the session then
   * drops the command without a reply. Not done by interrupting the thread: an interrupt closes the
   * {@code FileChannel}s that storage shares between sessions.
   */
  public final void checkClient() {
    Channel ch = channel;
    if (closed || ch != null && !ch.isActive()) {
      throw ClientGone.INSTANCE;
    }
  }

  /** See {@link #checkClient}: unwinds a command whose client has gone. */
  private static final class ClientGone extends RuntimeException {
    static final ClientGone INSTANCE = new ClientGone();

    private ClientGone() {
      super("client gone", null, false, false);
    }
  }

  public InetSocketAddress remoteAddress() {
    return (InetSocketAddress) channel.remoteAddress();
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) channel.localAddress();
  }

  /**
   * ARCHITECTURE.md, "Listeners and security rules": a password may travel over TLS, or in the clear from loopback when the protocol's
   * {@code plaintext_on_loopback} ({@code allowedOnLoopback}) says so.
   */
  public boolean plaintextLoginAllowed(boolean allowedOnLoopback) {
    return isTls() || (allowedOnLoopback && remoteAddress().getAddress().isLoopbackAddress());
  }

  /** True when the connection runs over TLS (implicit or after STARTTLS). */
  public boolean isTls() {
    return channel.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null;
  }
}
