package org.darwinmail.pop3;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import org.darwinmail.net.FrameDecoder;
import org.darwinmail.net.Frames;

/**
 * Frames a POP3 connection: command lines (and SASL responses) up to {@code maxLine} bytes, CRLF or bare LF
 * terminated. A longer line is dropped up to its LF and reported as {@link Frames.LineTooLong}. After "STLS" the
 * framer pauses until the session has answered, so that plaintext pipelined after it is never read as a command
 * under TLS (RFC 2595 §4, the STARTTLS injection attack).
 */
public final class Pop3Framer extends FrameDecoder {
  private final int maxLine;
  private boolean discarding;

  public Pop3Framer(int maxLine) {
    this.maxLine = maxLine;
  }

  @Override
  protected Object decodeOne(ByteBuf in) {
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
        in.skipBytes(in.readableBytes());
      }
      return null;
    }
    int start = in.readerIndex();
    int end = lf > start && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    String text = in.toString(start, end - start, StandardCharsets.UTF_8);
    in.readerIndex(lf + 1);
    if (text.strip().equalsIgnoreCase("STLS")) {
      pause();
    }
    return new Frames.Line(text);
  }
}
