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

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.US_ASCII);
  }
}
