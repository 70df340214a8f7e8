package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.darwinmail.config.Pop3Config;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * RFC 1939 §3 autologout: a silent client is told and disconnected, the session does not enter UPDATE (nothing it
 * marked is deleted), and the maildrop lock goes with it.
 */
class Pop3IdleTimeoutTest {

  @Test
  void aSilentClientIsLoggedOutWithoutDeletingAndReleasesTheLock() throws Exception {
    try (TestServer server = TestServer.start(c -> c.withPop3(new Pop3Config(2, null, null, null)))) {
      server.addUser("alice@idle.test", "alice-pw");
      Pop3Mail.deliver(server, "alice@idle.test", Pop3Mail.message(1).getBytes(StandardCharsets.US_ASCII));
      try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
        pop.login("alice@idle.test", "alice-pw");
        String next = pop.command("DELE 1"); // under heavy load the answer may already be the timeout
        while (next != null && next.startsWith("+OK")) {
          next = pop.line();
        }
        assertThat(next).isEqualTo("-ERR Idle timeout, closing connection");
        assertThat(pop.line()).isNull();
      }
      try (RawPop3 again = new RawPop3(server.port("pop3"))) {
        assertThat(again.command("USER alice@idle.test")).startsWith("+OK");
        assertThat(again.command("PASS alice-pw")).startsWith("+OK Logged in, 1 messages");
      }
    }
  }
}
