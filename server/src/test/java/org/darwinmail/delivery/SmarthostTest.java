package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.darwinmail.config.DeliveryConfig;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.testing.FakeSmtp;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * The smarthost setting: every outbound message goes to one relay, over TLS (required) with AUTH. Darwin Mail's own
 * submission port (STARTTLS required before AUTH, sender must be the account) serves as the provider's relay.
 */
class SmarthostTest {

  /** The relay's name, in its self-signed certificate; the test's DNS server maps it to loopback. */
  static final String RELAY = "mx.test";

  @Test
  void relaysThroughTheSmarthostWithStartTlsAndAuth() throws Exception {
    try (TestDns dns = new TestDns(); TestServer relay = TestServer.start()) {
      dns.a(RELAY, "127.0.0.1");
      relay.addUser("bob@b.test", "bob-pw");
      relay.addUser("alice@s.test", "relay-pw"); // the appliance's account at its provider
      String ca = relay.dataDir().resolve("tls/cert.pem").toString();
      try (TestServer a = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
          .withDelivery(DeliveryConfig.defaults().withRetry(List.of(1), 3600, 0)
              .withSmarthost(RELAY + ":" + relay.port("submission"), "alice@s.test", "relay-pw", "starttls")
              .withSmarthostCa(ca)))) {
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

  /**
   * The smarthost receives our password, so its certificate must verify: a self-signed one unknown to the system's
   * trust store, or one that names another host, keeps the message queued with the reason (before any login).
   */
  @Test
  void anUntrustedOrMisnamedSmarthostCertificateIsNotUsed() throws Exception {
    try (TestDns dns = new TestDns(); TestServer relay = TestServer.start()) {
      dns.a(RELAY, "127.0.0.1").a("other.test", "127.0.0.1");
      relay.addUser("alice@s.test", "relay-pw");
      String ca = relay.dataDir().resolve("tls/cert.pem").toString();
      String port = ":" + relay.port("submission");
      for (DeliveryConfig d : List.of(
          DeliveryConfig.defaults().withSmarthost(RELAY + port, "alice@s.test", "relay-pw", "starttls"),
          DeliveryConfig.defaults().withSmarthost("other.test" + port, "alice@s.test", "relay-pw", "starttls")
              .withSmarthostCa(ca))) {
        try (TestServer a = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
            .withDelivery(d.withRetry(List.of(1), 3600, 0)))) {
          a.addUser("alice@s.test", "alice-pw");
          assertThat(OutboundDeliveryTest.submit(a, "alice@s.test", List.of("bob@b.test"), "", "not trusted"))
              .startsWith("250");
          await().atMost(Duration.ofSeconds(60)).until(() -> OutboundDeliveryTest.queued(a).stream()
              .anyMatch(r -> r.attempts() >= 1 && r.lastError().contains("certificate is not trusted")));
        }
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
