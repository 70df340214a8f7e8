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

  /**
   * CATENATE's URLs (RFC 4469 §5, RFC 5092): only a parsed URL or NO [BADURL url] comes out, and the URL echoed in
   * the response code can neither close it early nor end the line (url-resp-text: TEXT-CHAR but "]").
   */
  @FuzzTest(maxDuration = "60s")
  void catenateUrl(FuzzedDataProvider data) {
    String url = data.consumeRemainingAsString();
    try {
      Catenate.Url u = Catenate.parse(url);
      if (u.uid() <= 0 || u.mailbox().isEmpty()) {
        throw new AssertionError("parsed without a UID or a mailbox: " + url);
      }
    } catch (ImapException e) {
      if (url.isEmpty() && e.kind() == ImapException.Kind.BAD) {
        return; // as the parser answers it: no URL to echo
      }
      String reply = e.reply();
      if (!reply.startsWith("NO [BADURL ")) {
        throw new AssertionError("not a BADURL: " + reply);
      }
      int close = reply.indexOf("] ");
      String code = reply.substring("NO [BADURL ".length(), close);
      if (code.isEmpty() || code.chars().anyMatch(c -> c < 0x20 || c == ']' || c > 0x7e)) {
        throw new AssertionError("url-resp-text not kept to TEXT-CHAR but ']': " + reply);
      }
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
