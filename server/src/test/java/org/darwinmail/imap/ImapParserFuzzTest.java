package org.darwinmail.imap;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzzing (Jazzer) of the IMAP command parser and framer (issue 6): only {@link ImapException} (a BAD/NO reply)
 * may come out of the parser, and the framer only cuts bounded frames. Regression mode in {@code make check};
 * {@code make fuzz} for long runs.
 */
class ImapParserFuzzTest {
  static final int MAX_LINE = 1024;

  /** A command as the session hands it over: text segments, each but the last followed by a literal. */
  @FuzzTest(maxDuration = "60s")
  void commandParser(FuzzedDataProvider data) {
    boolean utf8 = data.consumeBoolean();
    int literals = data.consumeInt(0, 3);
    List<Object> parts = new ArrayList<>();
    for (int i = 0; i < literals; i++) {
      parts.add(data.consumeString(200));
      parts.add(ImapLiteral.of(data.consumeBytes(data.consumeInt(0, 64))));
    }
    parts.add(data.consumeRemainingAsString());
    try {
      if (ImapParser.parse(parts, utf8) == null) {
        throw new AssertionError("parse returned null for " + parts);
      }
    } catch (ImapException e) {
      // a protocol error: fine
    }
  }

  @FuzzTest(maxDuration = "60s")
  void framer(FuzzedDataProvider data) {
    ImapFramer framer = new ImapFramer(MAX_LINE, 4096, 64);
    EmbeddedChannel ch = new EmbeddedChannel(framer);
    if (data.consumeBoolean()) {
      framer.authenticated();
    }
    while (data.remainingBytes() > 0) {
      ch.writeInbound(Unpooled.wrappedBuffer(data.consumeBytes(data.consumeInt(1, 64))));
      ch.checkException();
      Object f;
      while ((f = ch.readInbound()) != null) {
        if (f instanceof ImapFramer.Line l && l.text().length() > MAX_LINE) {
          throw new AssertionError("line longer than the limit: " + l.text().length());
        }
        if (f instanceof org.darwinmail.net.Frames.Chunk c && c.bytes().length > 64 * 1024) {
          throw new AssertionError("chunk larger than the framer's chunk size");
        }
      }
      framer.resume(); // whatever paused it (a synchronising literal awaits the session's "+")
      ch.runPendingTasks();
    }
    ch.finishAndReleaseAll();
  }
}
