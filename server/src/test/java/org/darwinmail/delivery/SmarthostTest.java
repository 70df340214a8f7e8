package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.darwinmail.config.DeliveryConfig;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * The smarthost setting: every outbound message goes to one relay, over TLS (required) with AUTH. Darwin Mail's own
 * submission port (STARTTLS required before AUTH, sender must be the account) serves as the provider's relay.
 */
class SmarthostTest {

  @Test
  void relaysThroughTheSmarthostWithStartTlsAndAuth() throws Exception {
    try (TestServer relay = TestServer.start()) {
      relay.addUser("bob@b.test", "bob-pw");
      relay.addUser("alice@s.test", "relay-pw"); // the appliance's account at its provider
      String host = "127.0.0.1:" + relay.port("submission");
      try (TestServer a = TestServer.start(c -> c.withDelivery(DeliveryConfig.defaults()
          .withRetry(List.of(1), 3600, 0).withSmarthost(host, "alice@s.test", "relay-pw", "starttls")))) {
        a.addUser("alice@s.test", "alice-pw");
        assertThat(OutboundDeliveryTest.submit(a, "alice@s.test", List.of("bob@b.test"), "", "via smarthost"))
            .startsWith("250");
        await().atMost(Duration.ofSeconds(60))
            .until(() -> OutboundDeliveryTest.withSubject(relay, "bob@b.test", "via smarthost").size() == 1);
        String got = OutboundDeliveryTest.withSubject(relay, "bob@b.test", "via smarthost").getFirst();
        // The relay's trace line: its submission port, TLS and AUTH ("ESMTPSA", RFC 3848).
        assertThat(got).contains("by mx.test (Darwin Mail) with ESMTPSA");
        await().atMost(Duration.ofSeconds(30)).until(() -> OutboundDeliveryTest.queued(a).isEmpty());
      }
    }
  }

  @Test
  void aSmarthostWithoutTlsIsNotUsed() throws Exception {
    try (FakeSmtp plain = new FakeSmtp("127.0.0.8", 0, true, n -> "250 2.1.5 ok")) {
      // FakeSmtp offers no STARTTLS: the message must wait rather than go out in clear text.
      int port = plainPort(plain);
      try (TestServer a = TestServer.start(c -> c.withDelivery(DeliveryConfig.defaults()
          .withRetry(List.of(1), 3600, 0).withSmarthost("127.0.0.8:" + port, "u", "p", "starttls")))) {
        a.addUser("alice@s.test", "alice-pw");
        assertThat(OutboundDeliveryTest.submit(a, "alice@s.test", List.of("bob@b.test"), "", "not in clear"))
            .startsWith("250");
        await().atMost(Duration.ofSeconds(60)).until(() -> OutboundDeliveryTest.queued(a).stream()
            .anyMatch(r -> r.attempts() >= 1 && r.lastError().contains("does not offer TLS")));
        assertThat(plain.messages).isEmpty();
        assertThat(plain.mailCommands).isEmpty();
      }
    }
  }

  private static int plainPort(FakeSmtp f) {
    return f.port();
  }
}
