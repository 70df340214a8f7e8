package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The maildrop lock (RFC 1939 §8, RFC 2449 §8.1.1 [IN-USE]) and the UPDATE rule (RFC 1939 §6): one POP3 session at
 * a time per account, the lock goes with the connection however it ends, a dropped connection deletes nothing, and
 * other access to the mailbox (delivery, IMAP's expunge through the same store) goes on while POP3 holds it.
 */
class Pop3MaildropLockTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
  }

  @Test
  void aSecondSessionGetsInUseAndTheLockGoesWhenTheConnectionDrops() throws Exception {
    server.addUser("alice@lock.test", "alice-pw");
    for (int k = 1; k <= 3; k++) {
      Pop3Mail.deliver(server, "alice@lock.test", Pop3Mail.message(k).getBytes(StandardCharsets.US_ASCII));
    }
    RawPop3 first = new RawPop3(server.port("pop3"));
    first.login("alice@lock.test", "alice-pw");
    assertThat(first.command("DELE 1")).startsWith("+OK");

    try (RawPop3 second = new RawPop3(server.port("pop3"))) {
      assertThat(second.command("USER alice@lock.test")).startsWith("+OK");
      assertThat(second.command("PASS alice-pw")).isEqualTo("-ERR [IN-USE] Mailbox is in use by another POP3 session");
      // Still in AUTHORIZATION: the session can go on (another account, or QUIT).
      assertThat(second.command("STAT")).isEqualTo("-ERR Command not valid in this state");
    }

    // While POP3 holds the maildrop, the mailbox is not frozen for everyone else.
    long inbox = Pop3Mail.inbox(server, "alice@lock.test").id();
    MessageRow fourth = Pop3Mail.deliver(server, "alice@lock.test",
        Pop3Mail.message(4).getBytes(StandardCharsets.US_ASCII));
    List<Long> removed = server.services().mail().expunge(inbox, List.of(fourth.uid()));
    assertThat(removed).containsExactly(fourth.uid());
    assertThat(first.command("STAT")).isEqualTo("+OK 2 288"); // the POP3 snapshot is fixed for the session

    first.drop(); // no QUIT: nothing is deleted, and the lock must go

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      try (RawPop3 third = new RawPop3(server.port("pop3"))) {
        assertThat(third.command("USER alice@lock.test")).startsWith("+OK");
        assertThat(third.command("PASS alice-pw")).startsWith("+OK Logged in, 3 messages");
        assertThat(third.command("QUIT")).isEqualTo("+OK Bye, 0 deleted, 3 messages left");
      }
    });
  }

  @Test
  void quitReleasesTheLockAtOnceAndTheDeletionsAreVisibleToTheStore() throws Exception {
    server.addUser("bob@lock.test", "bob-pw");
    for (int k = 1; k <= 2; k++) {
      Pop3Mail.deliver(server, "bob@lock.test", Pop3Mail.message(k).getBytes(StandardCharsets.US_ASCII));
    }
    long inbox = Pop3Mail.inbox(server, "bob@lock.test").id();
    List<Long> before = server.services().mail().messages(inbox).stream().map(MessageRow::uid).toList();
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      pop.login("bob@lock.test", "bob-pw");
      assertThat(pop.command("DELE 1")).startsWith("+OK");
      assertThat(pop.command("QUIT")).isEqualTo("+OK Bye, 1 deleted, 1 messages left");
    }
    assertThat(server.services().mail().messages(inbox).stream().map(MessageRow::uid).toList())
        .containsExactly(before.get(1));
    // The next login right after QUIT is not refused with [IN-USE].
    try (RawPop3 again = new RawPop3(server.port("pop3"))) {
      again.login("bob@lock.test", "bob-pw");
      assertThat(again.command("STAT")).isEqualTo("+OK 1 144");
    }
  }
  /**
   * A maildrop that would not fit in the heap the sessions' mailboxes share (store.ViewBudget) is refused with
   * -ERR [SYS/TEMP] (RFC 3206) and its lock released, instead of filling the heap; there is room again, the login
   * works.
   */
  @Test
  void aMaildropPastTheSharedBudgetIsRefusedAndItsLockReleased() throws Exception {
    server.addUser("carol@lock.test", "carol-pw");
    for (int k = 1; k <= 20; k++) {
      Pop3Mail.deliver(server, "carol@lock.test", Pop3Mail.message(k).getBytes(StandardCharsets.US_ASCII));
    }
    // Less room left than 20 messages need, whatever other sessions hold or give back meanwhile.
    long hold = org.darwinmail.store.ViewBudget.SHARED.limit() - 1000;
    org.darwinmail.store.ViewBudget.SHARED.force(hold);
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      assertThat(pop.command("USER carol@lock.test")).startsWith("+OK");
      assertThat(pop.command("PASS carol-pw"))
          .isEqualTo("-ERR [SYS/TEMP] Too many messages held open by all sessions now; try again later");
      assertThat(pop.command("STAT")).isEqualTo("-ERR Command not valid in this state");
    } finally {
      org.darwinmail.store.ViewBudget.SHARED.give(hold);
    }
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      assertThat(pop.command("USER carol@lock.test")).startsWith("+OK");
      assertThat(pop.command("PASS carol-pw")).startsWith("+OK Logged in, 20 messages");
      assertThat(pop.command("QUIT")).isEqualTo("+OK Bye, 0 deleted, 20 messages left");
    }
  }
}
