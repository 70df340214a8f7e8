package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.net.Frames;
import org.junit.jupiter.api.Test;

/** The POP3 framer fed one byte at a time: lines, over-long lines, and the pause after STLS. */
class Pop3FramerTest {

  private static List<Object> feed(Pop3Framer framer, EmbeddedChannel ch, String input) {
    for (byte b : input.getBytes(StandardCharsets.UTF_8)) {
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
    }
    List<Object> out = new ArrayList<>();
    for (Object o; (o = ch.readInbound()) != null; ) {
      out.add(o);
    }
    return out;
  }

  @Test
  void cutsLinesOnCrlfAndBareLf() {
    Pop3Framer f = new Pop3Framer(255);
    EmbeddedChannel ch = new EmbeddedChannel(f);
    assertThat(feed(f, ch, "USER a\r\nPASS p w\nSTAT\r\n\r\n")).containsExactly(
        new Frames.Line("USER a"), new Frames.Line("PASS p w"), new Frames.Line("STAT"), new Frames.Line(""));
    assertThat(feed(f, ch, "NO")).isEmpty(); // half a line waits for the rest
    assertThat(feed(f, ch, "OP\r\n")).containsExactly(new Frames.Line("NOOP"));
  }

  @Test
  void dropsAnOverLongLineWholeAndGoesOn() {
    Pop3Framer f = new Pop3Framer(255);
    EmbeddedChannel ch = new EmbeddedChannel(f);
    assertThat(feed(f, ch, "X".repeat(1000) + "\r\nQUIT\r\n"))
        .containsExactly(new Frames.LineTooLong(255), new Frames.Line("QUIT"));
  }

  @Test
  void commandsPipelinedBehindAnOverLongLineInOnePacketAreKept() {
    Pop3Framer f = new Pop3Framer(255);
    EmbeddedChannel ch = new EmbeddedChannel(f);
    ch.writeInbound(Unpooled.copiedBuffer("X".repeat(1000) + "\r\nSTAT\r\nQUIT\r\n", StandardCharsets.US_ASCII));
    List<Object> out = new ArrayList<>();
    for (Object o; (o = ch.readInbound()) != null; ) {
      out.add(o);
    }
    assertThat(out).containsExactly(new Frames.LineTooLong(255), new Frames.Line("STAT"), new Frames.Line("QUIT"));
  }

  @Test
  void pausesAfterStlsSoPipelinedPlaintextIsNeverDecoded() {
    Pop3Framer f = new Pop3Framer(255);
    EmbeddedChannel ch = new EmbeddedChannel(f);
    assertThat(feed(f, ch, "STLS\r\nUSER injected\r\n")).containsExactly(new Frames.Line("STLS"));
    f.discardBuffered(); // what Tls.startTls does before the handshake
    f.resume();
    ch.runPendingTasks();
    assertThat(feed(f, ch, "CAPA\r\n")).containsExactly(new Frames.Line("CAPA"));
  }
}
