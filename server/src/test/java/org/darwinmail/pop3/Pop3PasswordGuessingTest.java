package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Base64;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Password guessing over POP3: every failure is -ERR [AUTH] whether or not the account exists, both login paths go
 * through the LoginGuard (the failures count, and the account stays usable with the right password). That a
 * connection cannot loop forever is scripts/pop3/errors.txt (max_errors).
 */
class Pop3PasswordGuessingTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser("alice@guess.test", "alice-pw");
  }

  @Test
  void failuresLookAlikeAndGoThroughTheGuard() throws Exception {
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      assertThat(pop.command("USER nobody@guess.test")).startsWith("+OK");
      assertThat(pop.command("PASS x")).isEqualTo("-ERR [AUTH] Authentication failed");
      assertThat(pop.command("USER alice@guess.test")).startsWith("+OK");
      assertThat(pop.command("PASS wrong")).isEqualTo("-ERR [AUTH] Authentication failed");
      String bad = Base64.getEncoder().encodeToString("\0alice@guess.test\0wrong2".getBytes());
      assertThat(pop.command("AUTH PLAIN " + bad)).isEqualTo("-ERR [AUTH] Authentication failed");
      // The guard counted them: the next attempt for alice from here is delayed, not refused.
      var v = server.services().logins().check("alice@guess.test", java.net.InetAddress.getLoopbackAddress());
      assertThat(v.locked()).isFalse();
      assertThat(v.delay()).isPositive();
      String good = Base64.getEncoder().encodeToString("\0alice@guess.test\0alice-pw".getBytes());
      assertThat(pop.command("AUTH PLAIN " + good)).startsWith("+OK Logged in");
      assertThat(pop.command("QUIT")).startsWith("+OK");
    }
  }

  @Test
  void aLockedOutAccountIsRefusedEvenWithTheRightPassword() throws Exception {
    server.addUser("locked@guess.test", "locked-pw");
    // A distributed guess: 50 failures for the account from elsewhere lock it for every address.
    java.net.InetAddress elsewhere = java.net.InetAddress.getByName("192.0.2.7");
    for (int i = 0; i < 50; i++) {
      server.services().logins().failed("locked@guess.test", elsewhere);
    }
    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      assertThat(pop.command("USER locked@guess.test")).startsWith("+OK");
      assertThat(pop.command("PASS locked-pw")).isEqualTo(
          "-ERR [SYS/TEMP] Too many failed logins from here or for this account; try again in 15 minutes");
      String plain = Base64.getEncoder().encodeToString("\0locked@guess.test\0locked-pw".getBytes());
      assertThat(pop.command("AUTH PLAIN " + plain)).startsWith("-ERR [SYS/TEMP] Too many failed logins");
      assertThat(pop.command("QUIT")).startsWith("+OK");
    }
  }
}
