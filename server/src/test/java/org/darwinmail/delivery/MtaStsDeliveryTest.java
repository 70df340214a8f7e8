package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import org.darwinmail.config.DeliveryConfig;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.store.MtaStsRepository;
import org.darwinmail.store.QueueRepository;
import org.darwinmail.store.TraceRepository;
import org.darwinmail.testing.FakeSmtp;
import org.darwinmail.testing.PolicyServer;
import org.darwinmail.testing.TestCa;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Outbound MTA-STS (RFC 8461) over real sockets: Darwin Mail "A" finds each recipient domain's {@code _mta-sts}
 * record in a DNS server on loopback, fetches its policy from an HTTPS policy host on loopback whose certificate a
 * test CA issued (the CA given to A as {@code delivery.mta_sts_ca}), and delivers to scripted MX hosts on
 * 127.0.0.2-5 (one port): one with a certificate the CA issued for its name, one whose certificate names another
 * host, one without STARTTLS, one with a self-signed certificate. What a user sees: where the message went, over
 * TLS or not, and the queue's "last error" ({@code darwinmail queue list}) or the trace when it did not.
 */
class MtaStsDeliveryTest {
  static Path dir;
  static TestCa ca;
  static TestDns dns;
  static PolicyServer web;
  static FakeSmtp good;
  static FakeSmtp misnamed;
  static FakeSmtp plain;
  static FakeSmtp self;
  static FakeSmtp expired;
  static TestServer a;

  static final List<String> DOMAINS = List.of("enforce-ok.test", "enforce-misnamed.test", "enforce-plain.test",
      "enforce-unnamed.test", "enforce-self.test", "testing-misnamed.test", "none-plain.test", "cached.test",
      "big.test", "restart.test", "enforce-expired.test");

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("darwinmail-mtasts");
    ca = new TestCa(dir);
    dns = new TestDns();
    web = new PolicyServer(ca.server(DOMAINS.stream().map(d -> "mta-sts." + d).toArray(String[]::new)));
    good = new FakeSmtp("127.0.0.2", 0, true, n -> "250 2.1.5 ok");
    int port = good.port();
    misnamed = new FakeSmtp("127.0.0.3", port, true, n -> "250 2.1.5 ok");
    plain = new FakeSmtp("127.0.0.4", port, true, n -> "250 2.1.5 ok");
    self = new FakeSmtp("127.0.0.5", port, true, n -> "250 2.1.5 ok");
    expired = new FakeSmtp("127.0.0.6", port, true, n -> "250 2.1.5 ok");
    expired.tls = ca.expired("expired.mx.test");
    good.tls = ca.server("good.mx.test");
    misnamed.tls = ca.server("other.mx.test");
    self.tls = TestCa.selfSigned("self.mx.test");
    dns.a("good.mx.test", "127.0.0.2").a("misnamed.mx.test", "127.0.0.3").a("plain.mx.test", "127.0.0.4")
        .a("self.mx.test", "127.0.0.5").a("expired.mx.test", "127.0.0.6");
    for (String d : DOMAINS) {
      dns.a("mta-sts." + d, "127.0.0.1");
    }
    a = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withDelivery(sender(port)));
    a.addUser("alice@a.test", "alice-pw");
  }

  static DeliveryConfig sender(int port) {
    return DeliveryConfig.defaults().withPort(port).withRetry(List.of(1), 3600, 0)
        .withMtaSts(true, web.port(), ca.pemFile().toString());
  }

  @AfterAll
  static void stop() throws Exception {
    a.close();
    for (AutoCloseable c : List.of(good, misnamed, plain, self, expired, web, dns)) {
      c.close();
    }
  }

  /** The domain publishes a policy: its TXT record with {@code id}, MX {@code mx}, the policy host's answer. */
  static void publish(String domain, String id, String mx, String mode, String... patterns) {
    dns.clear("_mta-sts." + domain);
    dns.clear(domain);
    dns.txt("_mta-sts." + domain, "v=STSv1; id=" + id + ";").mx(domain, 10, mx);
    StringBuilder p = new StringBuilder("version: STSv1\r\nmode: " + mode + "\r\n");
    for (String x : patterns) {
      p.append("mx: ").append(x).append("\r\n");
    }
    web.set("mta-sts." + domain, PolicyServer.Answer.policy(p.append("max_age: 86400\r\n").toString()));
  }

  static void send(TestServer from, String domain, String subject) throws Exception {
    assertThat(OutboundDeliveryTest.submit(from, "alice@a.test", List.of("bob@" + domain), "", subject))
        .startsWith("250");
  }

  /** Waits until {@code host} accepted the message; whether it came over TLS. */
  static boolean received(FakeSmtp host, String subject) {
    await().atMost(Duration.ofSeconds(60)).until(() -> host.subjects.contains(subject));
    return host.overTls.get(host.subjects.indexOf(subject));
  }

  /** Waits until the message to {@code domain} was deferred at least once with an error containing {@code why}. */
  static QueueRepository.Rcpt deferred(TestServer from, String domain, String why) {
    await().atMost(Duration.ofSeconds(60)).until(() -> OutboundDeliveryTest.queued(from).stream()
        .anyMatch(r -> r.recipient().equals("bob@" + domain) && r.attempts() >= 1 && r.lastError() != null
            && r.lastError().contains(why)));
    return OutboundDeliveryTest.queued(from).stream().filter(r -> r.recipient().equals("bob@" + domain))
        .findFirst().orElseThrow();
  }

  static List<String> results(TestServer from, String domain) {
    return from.server().delivery().mtaSts().counts(LocalDate.now(ZoneOffset.UTC).minusDays(1)).stream()
        .filter(c -> c.domain().equals(domain)).map(MtaStsRepository.Count::result).toList();
  }

  @Test
  void enforceDeliversOverVerifiedTlsToAnMxThePolicyNames() throws Exception {
    publish("enforce-ok.test", "1", "good.mx.test", "enforce", "*.mx.test");
    send(a, "enforce-ok.test", "sts enforce ok");
    assertThat(received(good, "sts enforce ok")).as("over TLS").isTrue();
    assertThat(results(a, "enforce-ok.test")).containsExactly("success");
    // the policy is kept in the database with its id, mode and patterns
    assertThat(a.server().delivery().mtaSts().policy("enforce-ok.test").orElseThrow())
        .extracting(MtaStsRepository.Stored::id, MtaStsRepository.Stored::mode, MtaStsRepository.Stored::mx)
        .containsExactly("1", "enforce", List.of("*.mx.test"));
  }

  @Test
  void enforceDefersWhenTheMxCertificateNamesAnotherHost() throws Exception {
    publish("enforce-misnamed.test", "1", "misnamed.mx.test", "enforce", "misnamed.mx.test");
    send(a, "enforce-misnamed.test", "sts enforce misnamed");
    QueueRepository.Rcpt r = deferred(a, "enforce-misnamed.test", "MTA-STS enforce");
    assertThat(r.lastError()).isEqualTo("MTA-STS enforce: misnamed.mx.test [127.0.0.3] has no valid certificate:"
        + " its certificate does not name misnamed.mx.test");
    assertThat(misnamed.subjects).doesNotContain("sts enforce misnamed");
    assertThat(results(a, "enforce-misnamed.test")).contains("certificate-host-mismatch");
  }

  @Test
  void enforceDefersRatherThanSendInClearTextToAnMxWithoutStartTls() throws Exception {
    publish("enforce-plain.test", "1", "plain.mx.test", "enforce", "plain.mx.test");
    send(a, "enforce-plain.test", "sts enforce plain");
    QueueRepository.Rcpt r = deferred(a, "enforce-plain.test", "MTA-STS enforce");
    assertThat(r.lastError()).isEqualTo("MTA-STS enforce: plain.mx.test [127.0.0.4] does not offer STARTTLS");
    assertThat(plain.subjects).doesNotContain("sts enforce plain");
    assertThat(results(a, "enforce-plain.test")).contains("starttls-not-supported");
  }

  @Test
  void enforceDoesNotUseAnMxThePolicyDoesNotName() throws Exception {
    publish("enforce-unnamed.test", "1", "plain.mx.test", "enforce", "good.mx.test");
    send(a, "enforce-unnamed.test", "sts enforce unnamed");
    QueueRepository.Rcpt r = deferred(a, "enforce-unnamed.test", "MTA-STS enforce");
    assertThat(r.lastError()).isEqualTo("MTA-STS enforce: plain.mx.test is not a mail server the policy of"
        + " enforce-unnamed.test names (mx: good.mx.test)");
    assertThat(plain.subjects).doesNotContain("sts enforce unnamed");
  }

  @Test
  void enforceDefersWhenTheMxCertificateIsSelfSigned() throws Exception {
    publish("enforce-self.test", "1", "self.mx.test", "enforce", "self.mx.test");
    send(a, "enforce-self.test", "sts enforce self");
    QueueRepository.Rcpt r = deferred(a, "enforce-self.test", "MTA-STS enforce");
    assertThat(r.lastError()).isEqualTo("MTA-STS enforce: self.mx.test [127.0.0.5] has no valid certificate:"
        + " its certificate does not chain to a trusted CA");
    assertThat(self.subjects).doesNotContain("sts enforce self");
    assertThat(results(a, "enforce-self.test")).contains("certificate-not-trusted");
  }

  @Test
  void enforceDefersWhenTheMxCertificateHasExpired() throws Exception {
    publish("enforce-expired.test", "1", "expired.mx.test", "enforce", "expired.mx.test");
    send(a, "enforce-expired.test", "sts enforce expired");
    QueueRepository.Rcpt r = deferred(a, "enforce-expired.test", "MTA-STS enforce");
    assertThat(r.lastError()).isEqualTo("MTA-STS enforce: expired.mx.test [127.0.0.6] has no valid certificate:"
        + " its certificate has expired or is not yet valid");
    assertThat(expired.subjects).doesNotContain("sts enforce expired");
    assertThat(results(a, "enforce-expired.test")).contains("certificate-expired");
  }

  @Test
  void testingDeliversAnywayAndTheTraceSaysWhatFailed() throws Exception {
    publish("testing-misnamed.test", "1", "misnamed.mx.test", "testing", "misnamed.mx.test");
    send(a, "testing-misnamed.test", "sts testing misnamed");
    assertThat(received(misnamed, "sts testing misnamed")).as("over TLS").isTrue();
    a.services().trace().flush();
    await().atMost(Duration.ofSeconds(30)).until(() -> a.services().trace().repository()
        .search("bob@testing-misnamed.test", 0, 50).events().stream().anyMatch(e -> e.kind().equals("delivered")));
    TraceRepository.Event e = a.services().trace().repository().search("bob@testing-misnamed.test", 0, 50)
        .events().stream().filter(x -> x.kind().equals("delivered")).findFirst().orElseThrow();
    assertThat(e.detail()).contains("(MTA-STS testing: misnamed.mx.test [127.0.0.3] has no valid certificate: its"
        + " certificate does not name misnamed.mx.test (delivered anyway))");
    assertThat(results(a, "testing-misnamed.test")).containsExactly("certificate-host-mismatch");
  }

  @Test
  void modeNoneDeliversAsWithoutAPolicy() throws Exception {
    publish("none-plain.test", "1", "plain.mx.test", "none");
    send(a, "none-plain.test", "sts none plain");
    assertThat(received(plain, "sts none plain")).as("over TLS").isFalse();
    assertThat(results(a, "none-plain.test")).isEmpty();
  }

  /**
   * RFC 8461 §3.3: a new id whose policy cannot be fetched leaves the cached, unexpired policy in force; an MX
   * without STARTTLS is then still refused (without the cache the message would have gone in clear text).
   */
  @Test
  void aFailedFetchOfANewPolicyKeepsTheCachedOneInForce() throws Exception {
    publish("cached.test", "1", "good.mx.test", "enforce", "*.mx.test");
    send(a, "cached.test", "sts cached first");
    assertThat(received(good, "sts cached first")).isTrue();
    assertThat(web.requests("mta-sts.cached.test")).isEqualTo(1);
    dns.clear("_mta-sts.cached.test");
    dns.clear("cached.test");
    dns.txt("_mta-sts.cached.test", "v=STSv1; id=2;").mx("cached.test", 10, "plain.mx.test");
    web.set("mta-sts.cached.test", new PolicyServer.Answer(500, "text/plain", "broken\n"));
    send(a, "cached.test", "sts cached second");
    QueueRepository.Rcpt r = deferred(a, "cached.test", "MTA-STS enforce");
    assertThat(r.lastError()).isEqualTo("MTA-STS enforce: plain.mx.test [127.0.0.4] does not offer STARTTLS");
    assertThat(web.requests("mta-sts.cached.test")).as("the new id was tried").isEqualTo(2);
    assertThat(plain.subjects).doesNotContain("sts cached second");
    assertThat(results(a, "cached.test")).contains("success", "sts-policy-fetch-error", "starttls-not-supported");
  }

  /** A policy over 64 KB is refused: the domain is treated as having none, and the failure is counted. */
  @Test
  void aPolicyOver64KbIsRefused() throws Exception {
    publish("big.test", "1", "plain.mx.test", "enforce", "good.mx.test");
    web.set("mta-sts.big.test", PolicyServer.Answer.policy("version: STSv1\r\nmode: enforce\r\nmx: good.mx.test\r\n"
        + "max_age: 86400\r\n" + ("padding: " + "x".repeat(100) + "\r\n").repeat(700)));
    send(a, "big.test", "sts big policy");
    assertThat(received(plain, "sts big policy")).as("over TLS").isFalse();
    assertThat(web.requests("mta-sts.big.test")).isEqualTo(1);
    assertThat(results(a, "big.test")).containsExactly("sts-policy-fetch-error");
    assertThat(a.server().delivery().mtaSts().policy("big.test")).isEmpty();
  }

  /**
   * The policy host must present a certificate from a trusted CA naming {@code mta-sts.<domain>} (RFC 8461 §3.3): one
   * that is self-signed gives no policy (the domain is treated as having none) and is counted as sts-webpki-invalid.
   */
  @Test
  void aPolicyHostWithoutAValidCertificateGivesNoPolicy() throws Exception {
    try (PolicyServer untrusted = new PolicyServer(TestCa.selfSigned("mta-sts.webpki.test"));
        TestServer s = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
            .withDelivery(DeliveryConfig.defaults().withPort(good.port()).withRetry(List.of(1), 3600, 0)
                .withMtaSts(true, untrusted.port(), ca.pemFile().toString())))) {
      s.addUser("alice@a.test", "alice-pw");
      dns.a("mta-sts.webpki.test", "127.0.0.1").txt("_mta-sts.webpki.test", "v=STSv1; id=1;")
          .mx("webpki.test", 10, "plain.mx.test");
      untrusted.set("mta-sts.webpki.test", PolicyServer.Answer.policy("version: STSv1\r\nmode: enforce\r\n"
          + "mx: good.mx.test\r\nmax_age: 86400\r\n"));
      send(s, "webpki.test", "sts webpki");
      assertThat(received(plain, "sts webpki")).as("over TLS").isFalse();
      assertThat(untrusted.requests("mta-sts.webpki.test")).as("no request after the handshake failed").isZero();
      assertThat(results(s, "webpki.test")).containsExactly("sts-webpki-invalid");
    }
  }

  /**
   * The cache is in the database: after a restart the stored policy applies without a fetch (the policy host now
   * fails), so an MX the policy does not name is still refused.
   */
  @Test
  void aRestartKeepsTheCachedPolicy() throws Exception {
    try (TestServer s = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withDelivery(sender(good.port())))) {
      s.addUser("alice@a.test", "alice-pw");
      publish("restart.test", "7", "good.mx.test", "enforce", "good.mx.test");
      send(s, "restart.test", "sts restart first");
      assertThat(received(good, "sts restart first")).isTrue();
      s.restart();
      web.set("mta-sts.restart.test", new PolicyServer.Answer(503, "text/plain", "down\n"));
      dns.clear("restart.test");
      dns.mx("restart.test", 10, "plain.mx.test");
      send(s, "restart.test", "sts restart second");
      QueueRepository.Rcpt r = deferred(s, "restart.test", "MTA-STS enforce");
      assertThat(r.lastError()).isEqualTo("MTA-STS enforce: plain.mx.test is not a mail server the policy of"
          + " restart.test names (mx: good.mx.test)");
      assertThat(web.requests("mta-sts.restart.test")).as("no fetch after the restart").isEqualTo(1);
      assertThat(plain.subjects).doesNotContain("sts restart second");
    }
  }
}
