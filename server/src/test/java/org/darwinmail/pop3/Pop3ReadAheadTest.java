package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * A client retrieving its mail in order gets the next messages from the event loop: the session reads their RETR
 * answers ahead on its virtual thread (ARCHITECTURE.md, "Threading model"), so they are sent while every
 * virtual-thread carrier of the server is busy, byte-stuffed where needed, and DELE, RSET and QUIT keep RFC 1939's
 * meaning (a deleted message is not sent from what was read ahead).
 */
class Pop3ReadAheadTest {
  static final String CANONICAL = "From: sender@example.net\r\nSubject: canonical\r\n\r\nNothing to stuff here\r\n";

  @Test
  void messagesReadAheadAreRetrievedWhileEveryVirtualThreadCarrierIsBusy() throws Exception {
    TestServer server = SharedServer.get();
    server.addUser("rita@ahead.test", "rita-pw");
    for (int k = 1; k <= 6; k++) {
      String body = k == 3 ? CANONICAL : Pop3Mail.message(k);
      Pop3Mail.deliver(server, "rita@ahead.test", body.getBytes(StandardCharsets.US_ASCII));
    }
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      pop.login("rita@ahead.test", "rita-pw");
      assertThat(pop.command("RETR 1")).startsWith("+OK 144 octets");
      assertThat(text(pop.body())).isEqualTo(Pop3Mail.message(1));

      List<String> answers = new ArrayList<>();
      List<String> bodies = new ArrayList<>();
      try (BusyCarriers busy = new BusyCarriers()) {
        answers.add(pop.command("RETR 2"));
        bodies.add(text(pop.body()));
        answers.add(pop.command("DELE 2"));
        answers.add(pop.command("DELE 4")); // read ahead, then deleted before it was asked for
        answers.add(pop.command("RETR 3"));
        bodies.add(text(pop.body()));
        answers.add(pop.command("RETR 4"));
        answers.add(pop.command("RETR 5"));
        bodies.add(text(pop.body()));
      }
      assertThat(answers.get(0)).isEqualTo("+OK 144 octets");
      assertThat(answers.get(1)).startsWith("+OK");
      assertThat(answers.get(2)).startsWith("+OK");
      assertThat(answers.get(3)).isEqualTo("+OK " + CANONICAL.length() + " octets");
      assertThat(answers.get(4)).startsWith("-ERR").contains("already deleted");
      assertThat(answers.get(5)).isEqualTo("+OK 144 octets");
      assertThat(bodies).containsExactly(Pop3Mail.message(2), CANONICAL, Pop3Mail.message(5));

      // RSET brings message 4 back; its answer was dropped at DELE and is read again from the blob.
      assertThat(pop.command("RSET")).startsWith("+OK");
      assertThat(pop.command("RETR 4")).isEqualTo("+OK 144 octets");
      assertThat(text(pop.body())).isEqualTo(Pop3Mail.message(4));
      assertThat(pop.command("DELE 1")).startsWith("+OK");
      assertThat(pop.command("DELE 6")).startsWith("+OK");
      assertThat(pop.command("QUIT")).isEqualTo("+OK Bye, 2 deleted, 4 messages left");
    }
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      pop.login("rita@ahead.test", "rita-pw");
      assertThat(pop.command("STAT")).startsWith("+OK 4 ");
      assertThat(pop.command("QUIT")).startsWith("+OK");
    }
  }

  /**
   * A client retrieving and deleting 120 messages one command at a time, as POP3 clients do: the read-ahead is
   * refilled on a virtual thread of its own while the event loop answers from what it holds. Every message arrives
   * intact (byte-stuffed ones, canonical ones, ones with bare LFs, one above the read-ahead's size limit streamed in
   * between), a message deleted while it is held or being read ahead is refused, and QUIT removes exactly what was
   * deleted.
   */
  @Test
  void aClientRetrievingInOrderGetsEveryMessageIntactWhileTheReadAheadIsRefilled() throws Exception {
    TestServer server = SharedServer.get();
    server.addUser("otto@ahead.test", "otto-pw");
    int n = 120;
    List<String> sent = new ArrayList<>();
    for (int k = 1; k <= n; k++) {
      String body = variety(k);
      sent.add(asSent(body));
      Pop3Mail.deliver(server, "otto@ahead.test", body.getBytes(StandardCharsets.US_ASCII));
    }
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      pop.login("otto@ahead.test", "otto-pw");
      for (int k = 1; k <= n; k++) {
        if (k == 50) {
          assertThat(pop.command("DELE 53")).startsWith("+OK"); // held or about to be read ahead
        }
        String status = pop.command("RETR " + k);
        if (k == 53) {
          assertThat(status).startsWith("-ERR").contains("already deleted");
          continue;
        }
        assertThat(status).as("RETR " + k).isEqualTo("+OK " + variety(k).length() + " octets");
        assertThat(text(pop.body())).as("message " + k).isEqualTo(sent.get(k - 1));
        assertThat(pop.command("DELE " + k)).startsWith("+OK");
      }
      assertThat(pop.command("STAT")).isEqualTo("+OK 0 0");
      assertThat(pop.command("QUIT")).isEqualTo("+OK Bye, " + n + " deleted, 0 messages left");
    }
  }

  /**
   * RFC 2449 §6.6 PIPELINING: a client sending all its commands at once gets the answers in the order of the
   * commands, whichever thread answers each (the event loop from what was read ahead, the session's virtual thread
   * otherwise) and while refills of the read-ahead run beside them; a message deleted earlier in the batch is refused
   * by RETR and LIST, and a STAT at the end counts what is left.
   */
  @Test
  void pipelinedRetrDeleAndListAreAnsweredInOrderAcrossThreads() throws Exception {
    TestServer server = SharedServer.get();
    server.addUser("pia@ahead.test", "pia-pw");
    int n = 80;
    for (int k = 1; k <= n; k++) {
      Pop3Mail.deliver(server, "pia@ahead.test", variety(k).getBytes(StandardCharsets.US_ASCII));
    }
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      pop.login("pia@ahead.test", "pia-pw");
      StringBuilder batch = new StringBuilder("STAT\r\n");
      for (int k = 1; k <= n; k++) {
        batch.append("RETR ").append(k).append("\r\nDELE ").append(k).append("\r\n");
        if (k % 20 == 0) { // a few refusals: 10 bad commands would close the session
          batch.append("LIST ").append(k).append("\r\nRETR ").append(k).append("\r\nLIST ").append(n)
              .append("\r\nNOOP\r\n");
        }
      }
      batch.append("STAT\r\nQUIT\r\n");
      pop.send(batch.toString());

      assertThat(pop.line()).startsWith("+OK " + n + " ");
      for (int k = 1; k <= n; k++) {
        assertThat(pop.line()).as("RETR " + k).isEqualTo("+OK " + variety(k).length() + " octets");
        assertThat(text(pop.body())).as("message " + k)
            .isEqualTo(asSent(variety(k)));
        assertThat(pop.line()).as("DELE " + k).startsWith("+OK");
        if (k % 20 == 0) { // a few refusals: 10 bad commands would close the session
          assertThat(pop.line()).as("LIST " + k).startsWith("-ERR").contains("already deleted");
          assertThat(pop.line()).as("RETR " + k).startsWith("-ERR").contains("already deleted");
          assertThat(pop.line()).as("LIST " + n).isEqualTo(k == n ? "-ERR Message already deleted"
              : "+OK " + n + " " + variety(n).length());
          assertThat(pop.line()).as("NOOP").isEqualTo("+OK");
        }
      }
      assertThat(pop.line()).isEqualTo("+OK 0 0");
      assertThat(pop.line()).isEqualTo("+OK Bye, " + n + " deleted, 0 messages left");
    }
  }

  /**
   * Message {@code k} of the tests above: mostly the standard one (lines to byte-stuff), every seventh canonical,
   * every eleventh with bare LFs and a lone "." line, and message 60 of 200 KB (above what is read ahead, so
   * streamed), every tenth of its lines starting with a dot.
   */
  static String variety(int k) {
    if (k == 60) {
      StringBuilder b = new StringBuilder("From: big@remote.example\r\nSubject: big\r\n\r\n");
      for (int i = 0; b.length() < 200 * 1024; i++) {
        b.append(i % 10 == 0 ? "." : "x").append("y".repeat(97)).append("\r\n");
      }
      return b.toString();
    }
    if (k % 11 == 0) {
      return "From: lf@example.net\nSubject: bare LF " + k + "\n\n.\n.dot\nlast";
    }
    if (k % 7 == 0) {
      return CANONICAL.replace("canonical", "canonical " + k);
    }
    return Pop3Mail.message(k);
  }

  /** The message as RFC 1939 §3 sends it (un-stuffed): every line, the last one too, ends in CRLF. */
  private static String asSent(String body) {
    String crlf = body.replace("\r\n", "\n").replace("\n", "\r\n");
    return crlf.endsWith("\r\n") ? crlf : crlf + "\r\n";
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.US_ASCII);
  }
}
