package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * The commands a POP3 client sends between downloads (STAT, LIST, UIDL, DELE, NOOP, RSET, CAPA) are answered from
 * the session's snapshot on the event loop: they are answered even while every virtual-thread carrier of the server
 * is busy (long searches of other users, say), and they cost no hand-off between threads.
 */
class Pop3CheapCommandsTest {

  @Test
  void cheapCommandsAreAnsweredWhileEveryVirtualThreadCarrierIsBusy() throws Exception {
    TestServer server = SharedServer.get();
    server.addUser("dora@cheap.test", "dora-pw");
    for (int k = 1; k <= 3; k++) {
      Pop3Mail.deliver(server, "dora@cheap.test", Pop3Mail.message(k).getBytes(StandardCharsets.US_ASCII));
    }
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      pop.login("dora@cheap.test", "dora-pw");

      List<String> answers = new ArrayList<>();
      try (BusyCarriers busy = new BusyCarriers()) {
        answers.add(pop.command("STAT"));
        answers.add(pop.command("NOOP"));
        answers.add(pop.command("DELE 2"));
        answers.add(pop.command("LIST 3"));
        answers.add(pop.command("DELE 2"));
        answers.add(pop.command("UIDL 1"));
      }
      assertThat(answers).hasSize(6);
      assertThat(answers.get(0)).startsWith("+OK 3 ");
      assertThat(answers.get(1)).isEqualTo("+OK");
      assertThat(answers.get(2)).startsWith("+OK");
      assertThat(answers.get(3)).startsWith("+OK 3 ");
      assertThat(answers.get(4)).startsWith("-ERR").contains("already deleted");
      assertThat(answers.get(5)).startsWith("+OK 1 ");

      // The snapshot the inline answers used is the one RETR and QUIT use.
      assertThat(pop.command("STAT")).startsWith("+OK 2 ");
      assertThat(pop.command("RETR 3")).startsWith("+OK");
      assertThat(new String(pop.body(), StandardCharsets.US_ASCII)).contains(Pop3Mail.message(3).strip());
      assertThat(pop.command("QUIT")).startsWith("+OK Bye, 1 deleted, 2 messages left");
    }
  }
}
