package org.darwinmail.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Base of the protocol framers: accumulates bytes and cuts them into frames (lines, data chunks, literals) with
 * {@link #decodeOne}. A framer can pause after a frame whose answer decides how the following bytes are framed
 * (SMTP DATA, STARTTLS): nothing more is decoded until the session calls {@link #resume}. {@link #pause} also stops
 * reading, which is what makes STARTTLS safe: bytes a client pipelined after it are still in the buffer or the
 * socket, the session discards the buffer ({@link #discardBuffered}) before the TLS handler goes in, and the
 * handshake's bytes are read only after it. {@link #pauseDecoding} (SMTP DATA) keeps reading into the buffer, up to
 * {@link #PAUSED_READ_LIMIT} bytes: a client waits for the answer anyway (RFC 5321 §4.1.1.4: the 354), and not
 * switching the socket's read interest off and on again saves two system calls per message.
 *
 * <p>All methods run on the channel's event loop.
 */
public abstract class FrameDecoder extends ChannelInboundHandlerAdapter {
  /** Bytes a framer paused by {@link #pauseDecoding} buffers before it stops reading too. */
  static final int PAUSED_READ_LIMIT = 64 * 1024;

  private ByteBuf buffer;
  private boolean paused;
  /** Reading was turned off by this framer (autoRead false), to be turned on again by {@link #resume}. */
  private boolean readingStopped;
  private ChannelHandlerContext ctx;

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf in)) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      if (buffer == null) {
        buffer = ctx.alloc().buffer(Math.max(in.readableBytes(), 4096));
      }
      buffer.writeBytes(in);
    } finally {
      in.release();
    }
    if (paused) {
      if (!readingStopped && buffer.readableBytes() > PAUSED_READ_LIMIT) {
        stopReading();
      }
      return;
    }
    decodeLoop();
  }

  private void decodeLoop() {
    while (!paused && ctx.channel().isActive() && (hasPendingFrame() || buffer != null && buffer.isReadable())) {
      int before = buffer == null ? 0 : buffer.readerIndex();
      Object frame = decodeOne(buffer != null ? buffer : io.netty.buffer.Unpooled.EMPTY_BUFFER);
      if (frame == null) {
        if (buffer == null || buffer.readerIndex() == before) {
          break; // needs more bytes
        }
        continue; // consumed bytes without a frame (discarding)
      }
      ctx.fireChannelRead(frame);
    }
    if (buffer != null) {
      if (!buffer.isReadable()) {
        buffer.release();
        buffer = null;
      } else if (buffer.readerIndex() > 64 * 1024) {
        buffer.discardReadBytes();
      }
    }
  }

  /**
   * Cuts one frame from {@code in}; returns null when more bytes are needed (leaving the reader index where it was,
   * or after bytes it chose to drop).
   */
  protected abstract Object decodeOne(ByteBuf in);

  /** True when the framer has a frame to hand out without reading more bytes (an end-of-chunk marker). */
  protected boolean hasPendingFrame() {
    return false;
  }

  /** Stops decoding after the current frame, until {@link #resume}. Called from {@link #decodeOne}. */
  protected void pause() {
    paused = true;
    stopReading();
  }

  /**
   * Stops decoding after the current frame, until {@link #resume}, but goes on reading into the buffer until it
   * holds {@link #PAUSED_READ_LIMIT} bytes. Only for a pause after which the bytes that follow are still the
   * client's to frame (not STARTTLS). Called from {@link #decodeOne}.
   */
  protected void pauseDecoding() {
    paused = true;
  }

  private void stopReading() {
    readingStopped = true;
    ctx.channel().config().setAutoRead(false);
  }

  /** Goes on decoding (on the event loop). */
  public void resume() {
    resume(() -> { });
  }

  /** Runs {@code modeChange} on the event loop (setting how the next bytes are framed), then goes on decoding. */
  public void resume(Runnable modeChange) {
    ctx.executor().execute(() -> {
      modeChange.run();
      paused = false;
      if (readingStopped) {
        readingStopped = false;
        ctx.channel().config().setAutoRead(true);
      }
      decodeLoop();
    });
  }

  /** Drops the bytes received but not yet decoded (plaintext pipelined after STARTTLS). Event loop only. */
  public void discardBuffered() {
    if (buffer != null) {
      buffer.release();
      buffer = null;
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    discardBuffered();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    discardBuffered();
    super.channelInactive(ctx);
  }

  /** Index of the next LF at or after the reader index, searching at most {@code max} bytes; -1 if none. */
  protected static int findLf(ByteBuf in, int max) {
    int n = Math.min(in.readableBytes(), max);
    return in.indexOf(in.readerIndex(), in.readerIndex() + n, (byte) '\n');
  }
}
