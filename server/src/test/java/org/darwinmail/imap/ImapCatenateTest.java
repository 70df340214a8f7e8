package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * CATENATE (RFC 4469) with messages too large for a transcript: a result over the message-size limit (APPENDLIMIT)
 * is NO [TOOBIG] before anything is written (§6), and a TEXT literal large enough to stream into a blob is copied
 * byte for byte next to a URL's message.
 */
class ImapCatenateTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser("cat@cat.test", "cat-pw");
  }

  /** A message of {@code size} bytes: a header, then lines of one repeated character. */
  private static String message(int size, char c) {
    String head = "Subject: big\r\n\r\n";
    String line = String.valueOf(c).repeat(78) + "\r\n";
    StringBuilder b = new StringBuilder(head);
    while (b.length() + line.length() <= size) {
      b.append(line);
    }
    b.append(String.valueOf(c).repeat(size - b.length()));
    return b.toString();
  }

  @Test
  void aResultOverTheLimitIsTooBigAndNothingIsStored() throws Exception {
    long limit = server.config().imap().maxLiteralSize();
    int size = (int) (limit / ImapParser.MAX_CAT_PARTS) + 1024; // MAX_CAT_PARTS of them pass the limit
    try (ImapClient c = new ImapClient(server.port("imap")).login("cat@cat.test", "cat-pw")) {
      c.cmd("CREATE big");
      c.append("big", message(size, 'x'));
      String urls = "URL \"/big/;UID=1\" ".repeat(ImapParser.MAX_CAT_PARTS).strip();
      List<String> r = c.cmd("APPEND big CATENATE (" + urls + ")");
      assertThat(r.getLast()).matches("t\\d+ NO \\[TOOBIG\\] Catenated message too large \\(limit " + limit
          + " bytes\\)");
      // one part fewer fits
      r = c.cmd("APPEND big CATENATE (" + "URL /big/;UID=1 ".repeat(3).strip() + ")");
      assertThat(r.getLast()).contains("OK [APPENDUID ").contains(" 2] APPEND completed");
      r = c.cmd("STATUS big (MESSAGES SIZE)");
      assertThat(r.getFirst()).isEqualTo("* STATUS \"big\" (MESSAGES 2 SIZE " + (4L * size) + ")");
    }
  }

  @Test
  void aLargeTextLiteralAndAUrlAreJoinedByteForByte() throws Exception {
    String first = message(300 * 1024, 'a'); // over the in-memory literal size: streamed into a blob
    String second = message(1000, 'b');
    try (ImapClient c = new ImapClient(server.port("imap")).login("cat@cat.test", "cat-pw")) {
      c.cmd("CREATE joined");
      c.append("joined", second);
      byte[] text = first.getBytes(StandardCharsets.US_ASCII);
      c.c.raw(("j1 APPEND joined CATENATE (TEXT {" + text.length + "+}\r\n").getBytes(StandardCharsets.US_ASCII));
      c.c.raw(text);
      c.c.raw(" URL \"/joined/;UID=1\" TEXT {4+}\r\nend.)\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(c.until("j1 ").getLast()).contains("OK [APPENDUID ").contains(" 2] APPEND completed");
      c.cmd("EXAMINE joined");
      int total = text.length + second.length() + 4;
      List<String> r = c.cmd("UID FETCH 2 (RFC822.SIZE BODY.PEEK[]<" + (text.length - 3) + ".24>)");
      // the seam: the end of the TEXT literal, then the start of message 1 ("Subject: big"), then the end
      assertThat(r.get(0)).isEqualTo("* 2 FETCH (UID 2 RFC822.SIZE " + total + " BODY[]<" + (text.length - 3)
          + "> {24}");
      assertThat(r.get(1)).isEqualTo("aaaSubject: big");
      r = c.cmd("UID FETCH 2 BODY.PEEK[]<" + (total - 10) + ".10>");
      assertThat(String.join("\n", r)).contains("{10}\nbbbbbbend.)");
    }
  }
}
