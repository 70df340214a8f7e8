package org.darwinmail.imap;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (RFC 1951, no zlib header) both ways. Every write is sync-flushed, so a
 * response is never held back waiting for more output (RFC 4978 §4).
 */
final class Deflate extends ChannelDuplexHandler {
  private static final int MAX_INFLATED_PER_READ = 16 * 1024 * 1024;
  private final Inflater inflater = new Inflater(true);
  private final Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
  private final byte[] buf = new byte[16 * 1024];

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (!(msg instanceof ByteBuf in)) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      byte[] input = new byte[in.readableBytes()];
      in.readBytes(input);
      inflater.setInput(input);
      ByteBuf out = ctx.alloc().buffer();
      int total = 0;
      while (true) {
        int n = inflater.inflate(buf);
        if (n == 0) {
          break;
        }
        out.writeBytes(buf, 0, n);
        total += n;
        if (total > MAX_INFLATED_PER_READ) {
          out.release();
          ctx.close(); // a decompression bomb
          return;
        }
      }
      if (out.isReadable()) {
        ctx.fireChannelRead(out);
      } else {
        out.release();
      }
    } catch (DataFormatException e) {
      ctx.close();
    } finally {
      in.release();
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!(msg instanceof ByteBuf in)) {
      ctx.write(msg, promise);
      return;
    }
    try {
      byte[] input = new byte[in.readableBytes()];
      in.readBytes(input);
      deflater.setInput(input);
      ByteBuf out = ctx.alloc().buffer(input.length / 2 + 64);
      while (true) {
        int n = deflater.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
        out.writeBytes(buf, 0, n);
        if (n < buf.length) {
          break;
        }
      }
      ctx.write(out, promise);
    } finally {
      in.release();
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    inflater.end();
    deflater.end();
  }
}
