package org.darwinmail.smtp;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.darwinmail.net.Frames;

/**
 * Fuzzing (Jazzer) of the SMTP command parser, the path parser and the framer (issue 6): whatever the bytes, only
 * protocol errors ({@link SmtpException}, which carries the reply) may come out, never another exception, and the
 * framer only cuts bounded frames. Runs on the inputs in SmtpParserFuzzTestInputs/ in {@code make check}
 * (regression mode); {@code make fuzz} runs it with JAZZER_FUZZ=1 for new inputs.
 */
class SmtpParserFuzzTest {
  static final int MAX_LINE = 512;

  @FuzzTest(maxDuration = "60s")
  void commandParser(FuzzedDataProvider data) {
    String line = data.consumeRemainingAsString();
    try {
      SmtpCommand c = SmtpCommand.parse(line);
      if (c == null) {
        throw new AssertionError("parse returned null for " + line);
      }
    } catch (SmtpException e) {
      if (e.reply() == null || e.reply().isPositive()) {
        throw new AssertionError("a parse error without a negative reply: " + line, e);
      }
    }
  }

  @FuzzTest(maxDuration = "60s")
  void mailPath(FuzzedDataProvider data) {
    boolean allowNull = data.consumeBoolean();
    String s = data.consumeRemainingAsString();
    try {
      MailPath.Parsed p = MailPath.parse(s, allowNull);
      if (p.end() < 1 || p.end() > s.length()) {
        throw new AssertionError("end outside the input: " + p.end() + " for " + s);
      }
      if (!p.path().isNull() && p.path().address().isEmpty()) {
        throw new AssertionError("an empty address that is not the null path: " + s);
      }
    } catch (SmtpException e) {
      // a protocol error: fine
    }
  }

  @FuzzTest(maxDuration = "60s")
  void framer(FuzzedDataProvider data) {
    SmtpFramer framer = new SmtpFramer(MAX_LINE);
    EmbeddedChannel ch = new EmbeddedChannel(framer);
    while (data.remainingBytes() > 0) {
      byte[] piece = data.consumeBytes(data.consumeInt(1, 64));
      ch.writeInbound(Unpooled.wrappedBuffer(piece));
      ch.checkException();
      Object f;
      while ((f = ch.readInbound()) != null) {
        switch (f) {
          case Frames.Line l -> {
            if (l.text().length() > MAX_LINE) {
              throw new AssertionError("line longer than the limit: " + l.text().length());
            }
            String verb = l.text().strip().toUpperCase(java.util.Locale.ROOT);
            if (verb.equals("DATA")) {
              framer.resume(framer::startData); // as the session does after its 354
            } else if (verb.equals("STARTTLS")) {
              framer.resume(); // as after a refused STARTTLS
            }
            ch.runPendingTasks();
          }
          case Frames.LineTooLong t -> { }
          case Frames.Chunk c -> { }
          case Frames.DataEnd e -> { }
          case Frames.ChunkEnd e -> { }
          default -> throw new AssertionError("unexpected frame " + f);
        }
      }
    }
    ch.finishAndReleaseAll();
  }
}
