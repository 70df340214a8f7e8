package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.net.Frames;
import org.junit.jupiter.api.Test;

/** The IMAP framer fed one byte at a time (STYLE.md: decoder tests like Netty's own). */
class ImapFramerTest {
  private static List<Object> feed(ImapFramer framer, String input) {
    EmbeddedChannel ch = new EmbeddedChannel(framer);
    List<Object> out = new ArrayList<>();
    for (byte b : input.getBytes(StandardCharsets.UTF_8)) {
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
      Object f;
      while ((f = ch.readInbound()) != null) {
        out.add(f instanceof Frames.Chunk c ? new String(c.bytes(), StandardCharsets.UTF_8) : f);
      }
    }
    ch.finishAndReleaseAll();
    return out;
  }

  @Test
  void linesAndLiteralsByteByByte() {
    ImapFramer f = new ImapFramer(1000, 100_000, 100);
    List<Object> got = feed(f, "a1 NOOP\r\na2 LOGIN {5}\r\nalice {3+}\r\npw!\r\n");
    assertThat(got).containsExactly(
        new ImapFramer.Line("a1 NOOP", -1, false),
        new ImapFramer.Line("a2 LOGIN ", 5, true), "a", "l", "i", "c", "e", new ImapFramer.LiteralEnd(),
        new ImapFramer.Line(" ", 3, false), "p", "w", "!", new ImapFramer.LiteralEnd(),
        new ImapFramer.Line("", -1, false));
  }

  @Test
  void literalOverThePreAuthLimitIsRefusedAndItsBytesDropped() {
    ImapFramer f = new ImapFramer(1000, 100_000, 4);
    List<Object> got = feed(f, "a1 LOGIN x {10+}\r\n0123456789 more\r\na2 NOOP\r\n");
    assertThat(got).containsExactly(
        new ImapFramer.Refused("a1 LOGIN x ", new ImapFramer.LiteralRefused(10, 4, false)),
        new ImapFramer.Line("a2 NOOP", -1, false));
  }

  @Test
  void afterLoginTheLargeLimitApplies() {
    ImapFramer f = new ImapFramer(1000, 100_000, 4);
    f.authenticated();
    assertThat(feed(f, "a APPEND X {6}\r\n")).containsExactly(new ImapFramer.Line("a APPEND X ", 6, true));
  }

  @Test
  void tooLongLineIsReportedWithItsTag() {
    ImapFramer f = new ImapFramer(1000, 100_000, 100);
    List<Object> got = feed(f, "t7 " + "x".repeat(2000) + "\r\nt8 NOOP\r\n");
    assertThat(got).containsExactly(new ImapFramer.TooLong("t7", 1000), new ImapFramer.Line("t8 NOOP", -1, false));
  }

  @Test
  void bracesInsideALineAreNotALiteral() {
    ImapFramer f = new ImapFramer(1000, 100_000, 100);
    assertThat(feed(f, "a SEARCH SUBJECT \"{x}\"\r\n"))
        .containsExactly(new ImapFramer.Line("a SEARCH SUBJECT \"{x}\"", -1, false));
  }
}
