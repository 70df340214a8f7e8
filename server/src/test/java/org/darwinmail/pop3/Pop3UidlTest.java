package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * UIDL (RFC 1939 §7) is what "leave messages on server" clients rely on: a message keeps its unique id across
 * sessions, deletions of other messages and server restarts, and the id is INBOX's UIDVALIDITY and the message's
 * IMAP UID.
 */
class Pop3UidlTest {

  @Test
  void uniqueIdsAgreeWithImapUidsAndSurviveDeletionsAndRestarts() throws Exception {
    try (TestServer server = TestServer.start()) {
      server.addUser("alice@uidl.test", "alice-pw");
      List<MessageRow> rows = new ArrayList<>();
      for (int k = 1; k <= 3; k++) {
        rows.add(Pop3Mail.deliver(server, "alice@uidl.test", Pop3Mail.message(k).getBytes(StandardCharsets.US_ASCII)));
      }
      Mailbox inbox = Pop3Mail.inbox(server, "alice@uidl.test");
      List<String> expected = rows.stream().map(r -> inbox.uidValidity() + "." + r.uid()).toList();

      List<String> first = uidl(server);
      assertThat(first).containsExactly("1 " + expected.get(0), "2 " + expected.get(1), "3 " + expected.get(2));

      try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
        pop.login("alice@uidl.test", "alice-pw");
        assertThat(pop.command("DELE 1")).startsWith("+OK");
        assertThat(pop.command("QUIT")).startsWith("+OK Bye, 1 deleted");
      }
      server.restart();

      // Message numbers shift; unique ids do not.
      assertThat(uidl(server)).containsExactly("1 " + expected.get(1), "2 " + expected.get(2));
    }
  }

  private static List<String> uidl(TestServer server) throws Exception {
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      pop.login("alice@uidl.test", "alice-pw");
      assertThat(pop.command("UIDL")).startsWith("+OK");
      List<String> out = pop.lines();
      pop.command("QUIT");
      return out;
    }
  }
}
