package org.darwinmail.pop3;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ByteProcessor;

/**
 * Turns a stored message into the body of a POP3 multi-line response (RFC 1939 §3), a chunk at a time so that a
 * message of any size streams through a small buffer: every line ends in CRLF (a bare LF becomes CRLF; a bare CR
 * inside a line is kept), a line starting with "." gets another "." in front (byte-stuffing), and {@link #finish}
 * appends the terminating "." line. With a line limit it does what TOP needs (RFC 1939 §7): the header, the empty
 * line after it, and that many lines of the body, then {@link #done()} is true and further input is ignored.
 */
final class DotStuffer {
  private final long bodyLines; // -1: the whole message
  private boolean lineStart = true; // cursor: at the first byte of a line
  private boolean cr; // cursor: a CR was seen and not yet written, waiting for its LF
  private long lineLength; // bytes in the current line so far
  private boolean inBody;
  private long bodyLinesLeft;
  private boolean done;

  /** @param bodyLines how many body lines to pass (TOP), or -1 for all (RETR) */
  DotStuffer(long bodyLines) {
    this.bodyLines = bodyLines;
    this.bodyLinesLeft = bodyLines;
  }

  /** True when TOP's limit is reached: nothing more will be written before {@link #finish}. */
  boolean done() {
    return done;
  }

  /** Transforms {@code len} bytes of the message into {@code out}. */
  void feed(byte[] in, int off, int len, ByteBuf out) {
    feed(Unpooled.wrappedBuffer(in, off, len), out); // a view of the array, not a copy
  }

  /**
   * Transforms the readable bytes of {@code in} into {@code out} in one pass, without copying them anywhere else
   * first ({@code in} may be the direct buffer a blob was read into); {@code in}'s reader index is not moved.
   */
  void feed(ByteBuf in, ByteBuf out) {
    int i = in.readerIndex();
    int end = in.writerIndex();
    while (i < end && !done) {
      if (!cr && !lineStart) {
        // Inside a line: the bytes up to the next CR or LF go out as they are, in one copy.
        int j = in.forEachByte(i, end - i, ByteProcessor.FIND_CRLF);
        if (j < 0) {
          j = end;
        }
        if (j > i) {
          out.writeBytes(in, i, j - i);
          lineLength += j - i;
          i = j;
          continue;
        }
      }
      byte b = in.getByte(i++);
      if (cr) {
        cr = false;
        if (b == '\n') {
          endLine(out);
          continue;
        }
        out.writeByte('\r'); // a bare CR inside a line: kept as it is
        lineStart = false;
        lineLength++;
      }
      if (b == '\r') {
        cr = true;
      } else if (b == '\n') {
        endLine(out); // a bare LF ends a line too, written as CRLF
      } else {
        if (lineStart && b == '.') {
          out.writeByte('.'); // RFC 1939 §3: byte-stuff a leading termination octet
        }
        lineStart = false;
        out.writeByte(b);
        lineLength++;
      }
    }
  }

  private void endLine(ByteBuf out) {
    out.writeByte('\r').writeByte('\n');
    boolean empty = lineLength == 0;
    lineStart = true;
    lineLength = 0;
    if (bodyLines < 0) {
      return;
    }
    if (!inBody) {
      if (empty) {
        inBody = true; // the empty line ending the header (RFC 5322 §2.1)
        done = bodyLinesLeft == 0;
      }
    } else if (--bodyLinesLeft == 0) {
      done = true;
    }
  }

  /** Ends the last line if the message did not, and writes the terminating "." line. */
  void finish(ByteBuf out) {
    if (!done && (cr || !lineStart)) {
      out.writeByte('\r').writeByte('\n');
    }
    out.writeByte('.').writeByte('\r').writeByte('\n');
  }
}
