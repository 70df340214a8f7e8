package org.darwinmail.pop3;

import io.netty.buffer.ByteBuf;
import org.darwinmail.net.FrameDecoder;
import org.darwinmail.net.LineCutter;
import org.darwinmail.net.Frames;

/**
 * Frames a POP3 connection: command lines (and SASL responses) up to {@code maxLine} bytes, CRLF or bare LF
 * terminated. A longer line is dropped up to its LF and reported as {@link Frames.LineTooLong}. After "STLS" the
 * framer pauses until the session has answered, so that plaintext pipelined after it is never read as a command
 * under TLS (RFC 2595 §4, the STARTTLS injection attack).
 */
public final class Pop3Framer extends FrameDecoder {
  private final LineCutter lines;

  public Pop3Framer(int maxLine) {
    this.lines = new LineCutter(maxLine);
  }

  @Override
  protected Object decodeOne(ByteBuf in) {
    Object frame = lines.cut(in);
    if (frame instanceof Frames.Line l && l.text().strip().equalsIgnoreCase("STLS")) {
      pause();
    }
    return frame;
  }
}
