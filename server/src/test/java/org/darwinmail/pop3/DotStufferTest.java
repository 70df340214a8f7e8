package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RFC 1939 §3 byte-stuffing and §7 TOP, table-driven, fed whole and one byte at a time. */
class DotStufferTest {

  @ParameterizedTest(name = "[{index}] lines={0} {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
      -1 | "a\\r\\nb\\r\\n"                    | "a\\r\\nb\\r\\n.\\r\\n"
      -1 | ".\\r\\n"                            | "..\\r\\n.\\r\\n"
      -1 | "x\\r\\n.hidden\\r\\n..two\\r\\n"    | "x\\r\\n..hidden\\r\\n...two\\r\\n.\\r\\n"
      -1 | "no final newline"                   | "no final newline\\r\\n.\\r\\n"
      -1 | "bare\\nlf\\n.dot\\n"                | "bare\\r\\nlf\\r\\n..dot\\r\\n.\\r\\n"
      -1 | "cr\\rinside\\r\\n"                  | "cr\\rinside\\r\\n.\\r\\n"
      -1 | "ends in cr\\r"                      | "ends in cr\\r\\n.\\r\\n"
      -1 | "a\\r.b\\r\\n"                       | "a\\r.b\\r\\n.\\r\\n"
      -1 | ""                                   | ".\\r\\n"
      0  | "H: v\\r\\n\\r\\nbody1\\r\\nbody2\\r\\n" | "H: v\\r\\n\\r\\n.\\r\\n"
      1  | "H: v\\r\\n\\r\\n.body1\\r\\nbody2\\r\\n" | "H: v\\r\\n\\r\\n..body1\\r\\n.\\r\\n"
      5  | "H: v\\r\\n\\r\\nbody1\\r\\nbody2"   | "H: v\\r\\n\\r\\nbody1\\r\\nbody2\\r\\n.\\r\\n"
      0  | "H: v\\r\\nNo: body"                 | "H: v\\r\\nNo: body\\r\\n.\\r\\n"
      2  | "H: v\\n\\nb1\\nb2\\nb3\\n"          | "H: v\\r\\n\\r\\nb1\\r\\nb2\\r\\n.\\r\\n"
      """)
  void stuffs(long lines, String input, String expected) {
    byte[] in = unescape(input).getBytes(StandardCharsets.ISO_8859_1);
    String want = unescape(expected);
    assertThat(run(lines, in, in.length)).isEqualTo(want);
    assertThat(run(lines, in, 1)).as("fed one byte at a time").isEqualTo(want);
  }

  /** Random messages in random chunks against a plain reading of RFC 1939 §3 (RETR). */
  @org.junit.jupiter.api.Test
  void randomMessagesInRandomChunksMatchTheRule() {
    java.util.Random rnd = new java.util.Random(1939);
    byte[] alphabet = {'a', 'b', '.', '\r', '\n'};
    for (int n = 0; n < 3000; n++) {
      byte[] in = new byte[rnd.nextInt(120)];
      for (int k = 0; k < in.length; k++) {
        in[k] = alphabet[rnd.nextInt(alphabet.length)];
      }
      DotStuffer d = new DotStuffer(-1);
      ByteBuf out = Unpooled.buffer();
      for (int i = 0; i < in.length; ) {
        int step = Math.min(in.length - i, 1 + rnd.nextInt(20));
        d.feed(in, i, step, out);
        i += step;
      }
      d.finish(out);
      String input = new String(in, StandardCharsets.ISO_8859_1);
      assertThat(out.toString(StandardCharsets.ISO_8859_1)).as(input).isEqualTo(reference(input));
    }
  }

  /**
   * RETR sends a small message as stored when {@link Pop3Session#canonical} says it is already in the form RFC 1939
   * §3 sends: that must hold exactly when byte-stuffing would change nothing but append the final ".CRLF".
   */
  @org.junit.jupiter.api.Test
  void aMessageIsCanonicalExactlyWhenStuffingOnlyAppendsTheEnd() {
    java.util.Random rnd = new java.util.Random(2449);
    String[] pieces = {"ab", "x y", ".", "\r\n", "\r\n", "\r\n", "\r", "\n"};
    int canonical = 0;
    for (int n = 0; n < 5000; n++) {
      StringBuilder sb = new StringBuilder();
      for (int k = rnd.nextInt(12); k >= 0; k--) {
        sb.append(pieces[rnd.nextInt(n % 2 == 0 ? 5 : pieces.length)]);
      }
      byte[] in = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
      ByteBuf b = Unpooled.buffer().writeBytes("+OK head\r\n".getBytes(StandardCharsets.ISO_8859_1)).writeBytes(in);
      boolean fast = Pop3Session.canonical(b, b.writerIndex() - in.length, b.writerIndex());
      boolean unchanged = run(-1, in, in.length).equals(sb + ".\r\n");
      assertThat(fast).as(sb.toString()).isEqualTo(unchanged);
      canonical += fast ? 1 : 0;
    }
    assertThat(canonical).as("the generator makes canonical messages too").isGreaterThan(100);
  }

  /** Lines end at CRLF or a bare LF; a bare CR stays in its line (a CR at the very end ends the last line). */
  private static String reference(String in) {
    StringBuilder out = new StringBuilder();
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < in.length(); i++) {
      char c = in.charAt(i);
      if (c == '\r' && i + 1 < in.length() && in.charAt(i + 1) == '\n') {
        continue; // the LF ends the line
      }
      if (c == '\n') {
        emit(out, line);
      } else {
        line.append(c);
      }
    }
    if (!line.isEmpty()) {
      if (line.charAt(line.length() - 1) == '\r') {
        line.setLength(line.length() - 1);
      }
      emit(out, line);
    }
    return out.append(".\r\n").toString();
  }

  private static void emit(StringBuilder out, StringBuilder line) {
    out.append(line.length() > 0 && line.charAt(0) == '.' ? "." : "").append(line).append("\r\n");
    line.setLength(0);
  }

  private static String run(long lines, byte[] in, int step) {
    DotStuffer d = new DotStuffer(lines);
    ByteBuf out = Unpooled.buffer();
    for (int i = 0; i < in.length && !d.done(); i += step) {
      d.feed(in, i, Math.min(step, in.length - i), out);
    }
    d.finish(out);
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  private static String unescape(String s) {
    return s.replace("\\r", "\r").replace("\\n", "\n");
  }
}
