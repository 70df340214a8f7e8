package org.darwinmail.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.net.Frames;
import org.junit.jupiter.api.Test;

/** The framer fed one byte at a time and all at once must cut the same frames (STYLE.md: Netty's codecs). */
class SmtpFramerTest {

  /** Feeds {@code wire} in pieces of {@code step} bytes; DATA is entered after the "DATA" line as the session would. */
  private static List<Object> frames(String wire, int step) {
    SmtpFramer framer = new SmtpFramer(512);
    EmbeddedChannel ch = new EmbeddedChannel(framer);
    byte[] b = wire.getBytes(StandardCharsets.UTF_8);
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < b.length; i += step) {
      ch.writeInbound(Unpooled.wrappedBuffer(b, i, Math.min(step, b.length - i)));
      drain(ch, framer, out);
    }
    return merge(out);
  }

  private static void drain(EmbeddedChannel ch, SmtpFramer framer, List<Object> out) {
    Object f;
    while ((f = ch.readInbound()) != null) {
      out.add(f);
      if (f instanceof Frames.Line l && l.text().equalsIgnoreCase("DATA")) {
        framer.resume(framer::startData);
        ch.runPendingTasks();
        drain(ch, framer, out);
        return;
      }
    }
  }

  /** Adjacent chunks joined, so that results do not depend on how the input was cut. */
  private static List<Object> merge(List<Object> in) {
    List<Object> out = new ArrayList<>();
    ByteArrayOutputStream acc = null;
    for (Object f : in) {
      if (f instanceof Frames.Chunk c) {
        if (acc == null) {
          acc = new ByteArrayOutputStream();
        }
        acc.writeBytes(c.bytes());
      } else {
        if (acc != null) {
          out.add("CHUNK:" + acc.toString(StandardCharsets.UTF_8));
          acc = null;
        }
        out.add(f);
      }
    }
    if (acc != null) {
      out.add("CHUNK:" + acc.toString(StandardCharsets.UTF_8));
    }
    return out;
  }

  private static void sameWhateverTheCut(String wire, Object... expected) {
    for (int step : new int[] {1, 2, 3, 7, 1000}) {
      assertThat(frames(wire, step)).as("step " + step).containsExactly(expected);
    }
  }

  @Test
  void linesWithCrLfOrBareLf() {
    sameWhateverTheCut("EHLO a\r\nNOOP\nQUIT\r\n",
        new Frames.Line("EHLO a"), new Frames.Line("NOOP"), new Frames.Line("QUIT"));
  }

  @Test
  void dataIsUnstuffedAndEndsOnlyAtCrLfDotCrLf() {
    sameWhateverTheCut("DATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n",
        new Frames.Line("DATA"), "CHUNK:Subject: x\r\n\r\n.dot\r\n", new Frames.DataEnd(false),
        new Frames.Line("QUIT"));
  }

  @Test
  void emptyMessage() {
    sameWhateverTheCut("DATA\r\n.\r\n", new Frames.Line("DATA"), new Frames.DataEnd(false));
  }

  @Test
  void smugglingSequencesDoNotEndDataAndAreFlagged() {
    // "\n.\n", "\n.\r\n" and "\r.\r" inside the data: not an end; the real end is the last CRLF.CRLF.
    sameWhateverTheCut("DATA\r\na\n.\nb\n.\r\nc\r.\rd\r\n.\r\nRSET\r\n",
        new Frames.Line("DATA"), "CHUNK:a\n.\nb\n.\r\nc\r.\rd\r\n", new Frames.DataEnd(true),
        new Frames.Line("RSET"));
  }

  @Test
  void bdatChunksAreCountedNotParsed() {
    sameWhateverTheCut("BDAT 5\r\n.\r\n\r\nBDAT 0 LAST\r\nQUIT\r\n",
        new Frames.Line("BDAT 5"), "CHUNK:.\r\n\r\n", new Frames.ChunkEnd(), new Frames.Line("BDAT 0 LAST"),
        new Frames.Line("QUIT"));
  }

  @Test
  void tooLongLinesAreDroppedUpToTheirEnd() {
    String longLine = "X".repeat(600);
    sameWhateverTheCut(longLine + "\r\nNOOP\r\n", new Frames.LineTooLong(512), new Frames.Line("NOOP"));
  }

  @Test
  void utf8Lines() {
    sameWhateverTheCut("MAIL FROM:<jörg@bücher.example>\r\n", new Frames.Line("MAIL FROM:<jörg@bücher.example>"));
  }
  /**
   * After DATA the framer stops decoding until the session's 354 but keeps the socket's read interest (no epoll
   * change per message); what a client sends meanwhile is kept and framed as the message once the session resumes.
   * Past 64 KB it stops reading too, and reads again on resume.
   */
  @Test
  void afterDataDecodingWaitsButReadingGoesOnUpToItsLimit() {
    SmtpFramer framer = new SmtpFramer(512);
    EmbeddedChannel ch = new EmbeddedChannel(framer);
    ch.writeInbound(Unpooled.copiedBuffer("DATA\r\nearly\r\n", StandardCharsets.US_ASCII));
    assertThat((Object) ch.readInbound()).isEqualTo(new Frames.Line("DATA"));
    assertThat((Object) ch.readInbound()).as("nothing decoded before the 354").isNull();
    assertThat(ch.config().isAutoRead()).as("still reading").isTrue();

    ch.writeInbound(Unpooled.wrappedBuffer(new byte[70 * 1024]));
    assertThat(ch.config().isAutoRead()).as("stopped reading past 64 KB").isFalse();

    framer.resume(framer::startData);
    ch.runPendingTasks();
    assertThat(ch.config().isAutoRead()).isTrue();
    Object first = ch.readInbound();
    assertThat(first).isInstanceOf(Frames.Chunk.class);
    assertThat(new String(((Frames.Chunk) first).bytes(), 0, 7, StandardCharsets.US_ASCII)).isEqualTo("early\r\n");
  }

  /** STARTTLS stops reading at once: the TLS handshake's bytes must not be read before the TLS handler is in. */
  @Test
  void afterStartTlsReadingStops() {
    SmtpFramer framer = new SmtpFramer(512);
    EmbeddedChannel ch = new EmbeddedChannel(framer);
    ch.writeInbound(Unpooled.copiedBuffer("STARTTLS\r\n", StandardCharsets.US_ASCII));
    assertThat((Object) ch.readInbound()).isEqualTo(new Frames.Line("STARTTLS"));
    assertThat(ch.config().isAutoRead()).isFalse();
    framer.resume();
    ch.runPendingTasks();
    assertThat(ch.config().isAutoRead()).isTrue();
  }
}
