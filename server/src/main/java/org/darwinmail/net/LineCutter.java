package org.darwinmail.net;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Cuts command lines for the framers: CRLF- or bare-LF-terminated, at most {@code maxLine} bytes. A longer line is
 * dropped up to its LF and reported once as {@link Frames.LineTooLong}; the lines after it are read as usual.
 */
public final class LineCutter {
  private final int maxLine;
  private boolean discarding;

  public LineCutter(int maxLine) {
    this.maxLine = maxLine;
  }

  public int maxLine() {
    return maxLine;
  }

  /** Index of the next LF at or after the reader index, within {@code max} bytes; -1 if none. */
  private static int findLf(ByteBuf in, int max) {
    int n = Math.min(in.readableBytes(), max);
    return in.indexOf(in.readerIndex(), in.readerIndex() + n, (byte) '\n');
  }

  /** The next {@link Frames.Line} or {@link Frames.LineTooLong}, or null when more bytes are needed. */
  public Object cut(ByteBuf in) {
    if (discarding) {
      // cursor: inside an over-long line; drop bytes up to and including its LF
      int lf = findLf(in, in.readableBytes());
      if (lf < 0) {
        in.skipBytes(in.readableBytes());
        return null;
      }
      in.readerIndex(lf + 1);
      discarding = false;
      return new Frames.LineTooLong(maxLine);
    }
    // cursor: at the start of a line
    int lf = findLf(in, maxLine);
    if (lf < 0) {
      if (in.readableBytes() >= maxLine) {
        discarding = true;
        in.skipBytes(maxLine); // the rest of this line, up to its LF, goes in discarding mode
      }
      return null;
    }
    int start = in.readerIndex();
    int end = lf > start && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    String text = in.toString(start, end - start, StandardCharsets.UTF_8);
    in.readerIndex(lf + 1);
    return new Frames.Line(text);
  }
}
