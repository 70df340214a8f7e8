package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.darwinmail.config.ImapConfig;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * The heap a connection's literals may take (issue 19): at most {@link ImapFramer#MEMORY_BUDGET} in all the
 * literals of one command. After login a literal over {@link ImapFramer#MEMORY_LITERAL}, or one past the budget, is
 * spooled to disk (a MULTIAPPEND of many messages still stores each byte for byte) and is BAD where a string is
 * expected; before login nothing is spooled and a command past the budget is BAD.
 */
class ImapLiteralBudgetTest {
  private static final String USER = "budget@literal.test";

  /** A message of exactly {@code size} bytes whose bytes say which one it is. */
  private static byte[] message(int n, int size) {
    String head = "Subject: m" + n + "\r\n\r\n";
    byte[] b = new byte[size];
    Arrays.fill(b, (byte) ('a' + n % 26));
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(h, 0, b, 0, h.length);
    b[size - 2] = '\r';
    b[size - 1] = '\n';
    return b;
  }

  @org.junit.jupiter.api.BeforeAll
  static void user() {
    SharedServer.get().addUser(USER, "pw");
  }

  @Test
  void aMultiappendPastTheHeapBudgetIsSpooledAndStoresEveryMessageByteForByte() throws Exception {
    TestServer server = SharedServer.get();
    // 24 messages of 60,000 bytes (1.4 MB: the first 17 fit the 1 MiB budget, the rest are spooled), then two of
    // 300,000 (over the 64 KiB kept in memory), in one MULTIAPPEND (RFC 3502) with non-synchronizing literals
    List<byte[]> sent = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      sent.add(message(i, 60_000));
    }
    sent.add(message(24, 300_000));
    sent.add(message(25, 300_000));
    try (ImapClient c = new ImapClient(server.port("imap")).login(USER, "pw")) {
      c.cmd("CREATE budget");
      ByteArrayOutputStream cmd = new ByteArrayOutputStream();
      cmd.writeBytes("m1 APPEND budget".getBytes(StandardCharsets.US_ASCII));
      for (byte[] m : sent) {
        cmd.writeBytes((" {" + m.length + "+}\r\n").getBytes(StandardCharsets.US_ASCII));
        cmd.writeBytes(m);
      }
      cmd.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
      c.c.raw(cmd.toByteArray());
      assertThat(c.until("m1 ").getLast()).startsWith("m1 OK [APPENDUID ");
    }
    var s = server.services();
    long account = s.directory().account(USER).orElseThrow().id();
    long box = s.mail().mailbox(account, "budget").orElseThrow().id();
    List<byte[]> stored = new ArrayList<>();
    for (MessageRow row : s.mail().messages(box)) {
      try (InputStream in = s.mail().open(row)) {
        stored.add(in.readAllBytes());
      }
    }
    assertThat(stored).hasSize(sent.size());
    for (int i = 0; i < sent.size(); i++) {
      assertThat(stored.get(i)).as("message " + i).isEqualTo(sent.get(i));
    }
  }

  @Test
  void aStringLiteralOverTheHeapLimitIsBadAndTheSessionGoesOn() throws Exception {
    TestServer server = SharedServer.get();
    try (ImapClient c = new ImapClient(server.port("imap")).login(USER, "pw")) {
      c.cmd("SELECT INBOX");
      byte[] text = new byte[(int) ImapFramer.MEMORY_LITERAL + 1];
      Arrays.fill(text, (byte) 'x');
      c.c.raw(("s1 SEARCH TEXT {" + text.length + "+}\r\n").getBytes(StandardCharsets.US_ASCII));
      c.c.raw(text);
      c.c.raw("\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(c.until("s1 ").getLast()).isEqualTo("s1 BAD Literal too large for this argument (at most 65536 bytes,"
          + " 1048576 in all the literals of one command)");
      // at the limit it is a search like any other
      c.c.raw(("s2 SEARCH TEXT {" + (text.length - 1) + "+}\r\n").getBytes(StandardCharsets.US_ASCII));
      c.c.raw(Arrays.copyOf(text, text.length - 1));
      c.c.raw("\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(c.until("s2 ").getLast()).startsWith("s2 OK ");
    }
  }

  @Test
  void beforeLoginACommandPastTheBudgetIsBadBeforeItsLiteralIsSent() throws Exception {
    // literals of up to 100,000 bytes before login (a configuration allows it): the eleventh passes 1 MiB
    try (TestServer server = TestServer.start(c -> c.withImap(new ImapConfig(null, null, 100_000, null, null)));
        LineClient c = new LineClient("127.0.0.1", server.port("imap"))) {
      c.read(); // greeting
      byte[] lit = new byte[100_000];
      Arrays.fill(lit, (byte) 'p');
      c.raw("a1 LOGIN {100000}\r\n".getBytes(StandardCharsets.US_ASCII));
      for (int i = 1; i <= 10; i++) {
        assertThat(c.read()).as("literal " + i).startsWith("+ ");
        c.raw(lit);
        c.raw(" {100000}\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      // the eleventh is answered with the tagged BAD instead of "+": the client does not send it
      assertThat(c.read()).isEqualTo("a1 BAD Too much literal data in one command before login (limit 1048576"
          + " bytes)");
      c.send("a2 NOOP");
      assertThat(c.read()).startsWith("a2 OK");
    }
  }

  @Test
  void theHundredAndFirstLiteralOfACommandIsBadInsteadOfItsContinuation() throws Exception {
    try (ImapClient c = new ImapClient(SharedServer.get().port("imap")).login(USER, "pw")) {
      c.cmd("CREATE many");
      c.c.raw("n1 APPEND many {11}\r\n".getBytes(StandardCharsets.US_ASCII));
      for (int i = 1; i <= 100; i++) {
        assertThat(c.c.read()).as("literal " + i).startsWith("+ ");
        c.c.raw(("S: " + String.format("%03d", i) + "\r\n\r\nx {11}\r\n").getBytes(StandardCharsets.US_ASCII));
      }
      assertThat(c.c.read()).isEqualTo("n1 BAD Too many literals in one command (limit 100)");
      assertThat(c.cmd("NOOP").getLast()).contains(" OK ");
      assertThat(c.cmd("STATUS many (MESSAGES)").getFirst()).isEqualTo("* STATUS \"many\" (MESSAGES 0)");
    }
  }
}
