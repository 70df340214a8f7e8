package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;

import org.darwinmail.testing.Submitter;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Directory harvesting on port 25: a client naming unknown recipients one after another is slowed, then refused
 * with 421 and disconnected, and stays refused on its next connection; other clients are not affected, and a
 * client in a trusted network (here 127.0.0.1/32 only; loopback as a whole by default) is never slowed.
 */
class HarvestTest {
  static TestServer server;
  static final String D = "harvest.test";

  @BeforeAll
  static void start() {
    var parsed = org.darwinmail.config.ConfigLoader.parse("""
        [guard.inbound]
        trusted_networks = ["127.0.0.1/32"]
        """);
    server = TestServer.start(c -> c.withGuard(parsed.guard().withHarvest(2, 4)));
    server.addUser("alice@" + D, "alice-pw");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void probingUnknownRecipientsIsSlowedThenRefused() throws Exception {
    try (Submitter probe = new Submitter("127.0.0.3", server.port("smtp"))) {
      probe.ehlo();
      probe.send("MAIL FROM:<probe@elsewhere.test>");
      assertThat(probe.read()).startsWith("250");
      for (String who : new String[] {"admin", "info", "sales"}) {
        probe.send("RCPT TO:<" + who + "@" + D + ">");
        assertThat(probe.read()).startsWith("550 5.1.1");
      }
      probe.send("RCPT TO:<support@" + D + ">");
      assertThat(probe.read()).isEqualTo("421 4.7.0 Too many unknown recipients, closing connection");
      assertThat(probe.closedByServer()).isTrue();
    }
    // Next connection from the same address: refused at the first RCPT, even for a real user.
    try (Submitter probe = new Submitter("127.0.0.3", server.port("smtp"))) {
      probe.ehlo();
      probe.send("MAIL FROM:<probe@elsewhere.test>");
      assertThat(probe.read()).startsWith("250");
      probe.send("RCPT TO:<alice@" + D + ">");
      assertThat(probe.read()).startsWith("421 4.7.0");
    }
    // Another client is not affected.
    try (Submitter other = new Submitter("127.0.0.4", server.port("smtp"))) {
      other.ehlo();
      other.send("MAIL FROM:<friend@elsewhere.test>");
      assertThat(other.read()).startsWith("250");
      other.send("RCPT TO:<alice@" + D + ">");
      assertThat(other.read()).startsWith("250");
    }
  }

  @Test
  void aTrustedNetworkIsNeverSlowedNorRefused() throws Exception {
    try (Submitter relay = new Submitter("127.0.0.1", server.port("smtp"))) {
      relay.ehlo();
      relay.send("MAIL FROM:<relay@elsewhere.test>");
      assertThat(relay.read()).startsWith("250");
      for (int i = 0; i < 8; i++) { // twice the refusal threshold of an untrusted client
        relay.send("RCPT TO:<nobody" + i + "@" + D + ">");
        assertThat(relay.read()).startsWith("550 5.1.1");
      }
      relay.send("RCPT TO:<alice@" + D + ">");
      assertThat(relay.read()).startsWith("250");
    }
  }
}
