package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.darwinmail.testing.Submitter;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Password guessing over SMTP AUTH (the same LoginGuard serves IMAP and POP3): after a few failures the guesser's
 * address is locked out for that account, even with the right password; the real user on another address and other
 * accounts on the guesser's address are not; when the lockout expires the right password works again.
 */
class LoginThrottleTest {
  static TestServer server;
  static final String D = "login.test";

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> c.withGuard(c.guard().withLogins(10, 3, 2)));
    server.addUser("alice@" + D, "alice-pw");
    server.addUser("bob@" + D, "bob-pw");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private Submitter connect(String from) throws Exception {
    Submitter s = new Submitter(from, server.port("submission"));
    s.startTls();
    return s;
  }

  @Test
  void passwordGuessingLocksTheGuesserOutAndNobodyElse() throws Exception {
    try (Submitter guesser = connect("127.0.0.1")) {
      for (int i = 0; i < 3; i++) {
        assertThat(guesser.auth("alice@" + D, "guess" + i)).startsWith("535 5.7.8");
      }
      // Locked: even the right password is refused, with a temporary code.
      assertThat(guesser.auth("alice@" + D, "alice-pw")).startsWith("454 4.7.0").contains("Too many failed logins");
    }
    // Alice at her usual address is not locked out by the attacker.
    try (Submitter alice = connect("127.0.0.2")) {
      assertThat(alice.auth("alice@" + D, "alice-pw")).startsWith("235");
    }
    // Bob, behind the same address as the guesser (a shared NAT), still logs in.
    try (Submitter bob = connect("127.0.0.1")) {
      assertThat(bob.auth("bob@" + D, "bob-pw")).startsWith("235");
    }
    // The lockout (2 s here) expires: the right password works again from the guesser's address.
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).until(() -> {
      try (Submitter again = connect("127.0.0.1")) {
        return again.auth("alice@" + D, "alice-pw").startsWith("235");
      }
    });
  }
}
