package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Properties;
import java.util.zip.GZIPInputStream;
import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.dns.Dns;
import org.darwinmail.store.MtaStsRepository;
import org.darwinmail.testing.CapturedLog;
import org.darwinmail.testing.FakeSmtp;
import org.darwinmail.testing.PolicyServer;
import org.darwinmail.testing.TestCa;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * TLS reports (RFC 8460) over real sockets: Darwin Mail "A" delivers under MTA-STS policies found in a DNS server on
 * loopback (the policy host and the MX hosts as in {@link MtaStsDeliveryTest}), then its report job runs for that
 * day on a clock set to the next morning. What the domain's owner gets: a DKIM-signed multipart/report at the
 * mailto address (its MX on loopback), whose gzip'd JSON holds the day's counts, and the same report POSTed to the
 * https address; nothing a second time; no report, and a log line saying why, for a record that is not valid.
 */
class TlsReportsTest {
  static Path dir;
  static TestCa ca;
  static TestDns dns;
  static PolicyServer web;
  static FakeSmtp good;
  static FakeSmtp misnamed;
  static FakeSmtp inbox;
  static TestServer a;
  static final JsonMapper JSON = JsonMapper.builder().build();

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("darwinmail-tlsrpt");
    ca = new TestCa(dir);
    dns = new TestDns();
    web = new PolicyServer(ca.server("mta-sts.rpt.test", "mta-sts.bad.test", "mta-sts.long.test",
        "mta-sts.ftp.test", "mta-sts.reports.test", "tlsrpt.reports.test"));
    good = new FakeSmtp("127.0.0.2", 0, true, n -> "250 2.1.5 ok");
    int port = good.port();
    misnamed = new FakeSmtp("127.0.0.3", port, true, n -> "250 2.1.5 ok");
    inbox = new FakeSmtp("127.0.0.7", port, true, n -> "250 2.1.5 ok");
    good.tls = ca.server("good.mx.test");
    misnamed.tls = ca.server("other.mx.test");
    dns.a("good.mx.test", "127.0.0.2").a("misnamed.mx.test", "127.0.0.3").a("mx.reports.test", "127.0.0.7")
        .mx("reports.test", 10, "mx.reports.test").a("tlsrpt.reports.test", "127.0.0.1");
    for (String d : List.of("rpt.test", "bad.test", "long.test", "ftp.test", "reports.test")) {
      dns.a("mta-sts." + d, "127.0.0.1");
    }
    a = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withDelivery(org.darwinmail.config.DeliveryConfig.defaults().withPort(port).withRetry(List.of(1), 3600, 0)
            .withMtaSts(true, web.port(), ca.pemFile().toString()).withTlsRpt(true, "Darwin Test Org")));
    a.addUser("alice@a.test", "alice-pw");
  }

  @AfterAll
  static void stop() throws Exception {
    a.close();
    for (AutoCloseable c : List.of(good, misnamed, inbox, web, dns)) {
      c.close();
    }
  }

  static void publish(String domain, String mx, String mode) {
    dns.clear("_mta-sts." + domain);
    dns.clear(domain);
    dns.txt("_mta-sts." + domain, "v=STSv1; id=1;").mx(domain, 10, mx);
    web.set("mta-sts." + domain, PolicyServer.Answer.policy("version: STSv1\r\nmode: " + mode + "\r\n"
        + "mx: *.mx.test\r\nmax_age: 86400\r\n"));
  }

  /** The report job as it runs tomorrow morning (UTC), five minutes after midnight. */
  static TlsReports tomorrow() {
    return a.server().delivery().tlsReports().at(Clock.fixed(LocalDate.now(ZoneOffset.UTC).plusDays(1)
        .atStartOfDay().plusMinutes(5).toInstant(ZoneOffset.UTC), ZoneOffset.UTC));
  }

  static JsonNode gunzipJson(byte[] gz) throws Exception {
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
      return JSON.readTree(in.readAllBytes());
    }
  }

  @Test
  void theDaysReportGoesByMailSignedAndByHttpsWithTheCountsAndOnlyOnce() throws Exception {
    publish("rpt.test", "misnamed.mx.test", "testing");
    dns.txt("_smtp._tls.rpt.test", "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test, https://tlsrpt.reports.test:"
        + web.port() + "/v1/tlsrpt");
    // a session whose certificate names another host (testing: delivered anyway), then one that passes
    MtaStsDeliveryTest.send(a, "rpt.test", "rpt first");
    MtaStsDeliveryTest.received(misnamed, "rpt first");
    dns.clear("rpt.test");
    dns.mx("rpt.test", 10, "good.mx.test");
    MtaStsDeliveryTest.send(a, "rpt.test", "rpt second");
    MtaStsDeliveryTest.received(good, "rpt second");
    // the report's own destination enforces a policy its MX (no STARTTLS, not named) fails: RFC 8460 §5.3 says the
    // report goes anyway, and its session is counted in no report
    publish("reports.test", "mx.reports.test", "enforce");
    await().atMost(Duration.ofSeconds(30)).until(() -> OutboundDeliveryTest.queued(a).isEmpty());

    List<MtaStsRepository.Report> sent = tomorrow().runDue().stream().filter(r -> r.domain().equals("rpt.test"))
        .toList();
    assertThat(sent).hasSize(1);
    MtaStsRepository.Report r = sent.getFirst();
    assertThat(r.destinations()).isEqualTo("mailto:tlsrpt@reports.test, https://tlsrpt.reports.test:" + web.port()
        + "/v1/tlsrpt");
    assertThat(r.result()).isEqualTo("mailto:tlsrpt@reports.test queued; https://tlsrpt.reports.test:" + web.port()
        + "/v1/tlsrpt HTTP 200");

    // the mail: from the primary domain, DKIM-signed (verified with the key published), the RFC 8460 §5.3 headers
    String subject = "Report Domain: rpt.test Submitter: a.test Report-ID: <" + r.reportId() + ">";
    await().atMost(Duration.ofSeconds(60)).until(() -> inbox.subjects.contains(subject));
    String got = inbox.messages.get(inbox.subjects.indexOf(subject));
    assertThat(got).contains("TLS-Report-Domain: rpt.test\r\n", "TLS-Report-Submitter: a.test\r\n",
        "From: <noreply-tlsrpt@a.test>", "DKIM-Signature:");
    dns.txt("darwin._domainkey.a.test", a.server().delivery().dkim().publicRecord("a.test"));
    Dns resolver = new Dns(new DnsConfig(List.of(dns.address()), 2));
    List<SignatureRecord> ok = new DKIMVerifier((method, selector, token) -> {
      if (resolver.txt(selector + "._domainkey." + token) instanceof Dns.Answer.Found<String> f) {
        return f.values();
      }
      throw new PermFailException("no key");
    }).verify(new ByteArrayInputStream(got.getBytes(StandardCharsets.UTF_8)));
    assertThat(ok).hasSize(1);
    assertThat(ok.getFirst().getDToken().toString()).isEqualTo("a.test");

    MimeMessage m = new MimeMessage(Session.getInstance(new Properties()),
        new ByteArrayInputStream(got.getBytes(StandardCharsets.UTF_8)));
    assertThat(m.getContentType()).startsWith("multipart/report").contains("report-type=\"tlsrpt\"");
    Multipart parts = (Multipart) m.getContent();
    assertThat(parts.getCount()).isEqualTo(2);
    assertThat(parts.getBodyPart(0).getContentType()).startsWith("text/plain");
    assertThat((String) parts.getBodyPart(0).getContent()).contains("1 successful, 1 failed");
    Part report = parts.getBodyPart(1);
    assertThat(report.getContentType()).startsWith("application/tlsrpt+gzip");
    long begin = LocalDate.now(ZoneOffset.UTC).atStartOfDay().toEpochSecond(ZoneOffset.UTC);
    assertThat(report.getFileName()).matches("a\\.test!rpt\\.test!" + begin + "!" + (begin + 86_399)
        + "![0-9a-f]{16}\\.json\\.gz");
    JsonNode json;
    try (InputStream in = report.getInputStream()) {
      json = gunzipJson(in.readAllBytes());
    }
    String today = LocalDate.now(ZoneOffset.UTC).toString();
    assertThat(json.get("organization-name").asString()).isEqualTo("Darwin Test Org");
    assertThat(json.get("contact-info").asString()).isEqualTo("postmaster@a.test");
    assertThat(json.get("report-id").asString()).isEqualTo(r.reportId());
    assertThat(json.get("date-range").get("start-datetime").asString()).isEqualTo(today + "T00:00:00Z");
    assertThat(json.get("date-range").get("end-datetime").asString()).isEqualTo(today + "T23:59:59Z");
    JsonNode p = json.get("policies").get(0);
    assertThat(p.get("policy").get("policy-type").asString()).isEqualTo("sts");
    assertThat(p.get("policy").get("policy-domain").asString()).isEqualTo("rpt.test");
    assertThat(p.get("policy").get("policy-string").toString())
        .isEqualTo("[\"version: STSv1\",\"mode: testing\",\"mx: *.mx.test\",\"max_age: 86400\"]");
    assertThat(p.get("policy").get("mx-host").toString()).isEqualTo("[\"*.mx.test\"]");
    assertThat(p.get("summary").get("total-successful-session-count").asLong()).isEqualTo(1);
    assertThat(p.get("summary").get("total-failure-session-count").asLong()).isEqualTo(1);
    assertThat(p.get("failure-details")).hasSize(1);
    JsonNode f = p.get("failure-details").get(0);
    assertThat(f.get("result-type").asString()).isEqualTo("certificate-host-mismatch");
    assertThat(f.get("receiving-mx-hostname").asString()).isEqualTo("misnamed.mx.test");
    assertThat(f.get("receiving-ip").asString()).isEqualTo("127.0.0.3");
    assertThat(f.get("failed-session-count").asLong()).isEqualTo(1);

    // the same report POSTed (RFC 8460 §5.4)
    assertThat(web.posts).hasSize(1);
    PolicyServer.Post post = web.posts.getFirst();
    assertThat(post.host()).isEqualTo("tlsrpt.reports.test");
    assertThat(post.path()).isEqualTo("/v1/tlsrpt");
    assertThat(post.contentType()).isEqualTo("application/tlsrpt+gzip");
    assertThat(gunzipJson(post.body())).isEqualTo(json);

    // the report went in clear text to an MX the policy of reports.test does not name, and was not counted
    assertThat(inbox.overTls.get(inbox.subjects.indexOf(subject))).isFalse();
    assertThat(MtaStsDeliveryTest.results(a, "reports.test")).isEmpty();

    // a second run, and a run as after a restart, send nothing again
    assertThat(tomorrow().runDue()).noneMatch(x -> x.domain().equals("rpt.test"));
    assertThat(tomorrow().runDue()).noneMatch(x -> x.domain().equals("rpt.test"));
    assertThat(web.posts).hasSize(1);
    assertThat(a.server().delivery().mtaSts().reports(LocalDate.now(ZoneOffset.UTC)))
        .filteredOn(x -> x.domain().equals("rpt.test")).hasSize(1);
  }

  /** An oversized record, one that is not valid, and one without a mailto: or https: URI: nothing sent, and why. */
  @Test
  void anInvalidRecordSendsNothingAndTheLogSaysWhy() throws Exception {
    for (String d : List.of("bad.test", "long.test", "ftp.test")) {
      publish(d, "good.mx.test", "enforce");
    }
    dns.txt("_smtp._tls.bad.test", "v=TLSRPTv1 rua=mailto:tlsrpt@reports.test");
    dns.txt("_smtp._tls.long.test", "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test; x=" + "y".repeat(3000));
    dns.txt("_smtp._tls.ftp.test", "v=TLSRPTv1; rua=ftp://reports.test/tlsrpt");
    for (String d : List.of("bad.test", "long.test", "ftp.test")) {
      MtaStsDeliveryTest.send(a, d, "rpt " + d);
      MtaStsDeliveryTest.received(good, "rpt " + d);
    }
    int posts = web.posts.size();
    int mails = inbox.messages.size();
    try (CapturedLog log = new CapturedLog(TlsReports.class, Level.INFO)) {
      List<MtaStsRepository.Report> done = tomorrow().runDue();
      assertThat(done).filteredOn(x -> List.of("bad.test", "long.test", "ftp.test").contains(x.domain()))
          .extracting(MtaStsRepository.Report::domain, MtaStsRepository.Report::result).containsExactlyInAnyOrder(
              org.assertj.core.groups.Tuple.tuple("bad.test", "not sent: the record does not begin with"
                  + " \"v=TLSRPTv1;\""),
              org.assertj.core.groups.Tuple.tuple("long.test", "not sent: the record is longer than 2048 characters"),
              org.assertj.core.groups.Tuple.tuple("ftp.test", "not sent: no mailto: or https: rua URI"
                  + " (ftp://reports.test/tlsrpt)"));
      assertThat(log.messages()).anyMatch(l -> l.startsWith("TLS-RPT: no report for long.test of ")
          && l.endsWith("_smtp._tls.long.test: the record is longer than 2048 characters"));
    }
    assertThat(web.posts).hasSize(posts);
    assertThat(inbox.messages).hasSize(mails);
  }

  /** RFC 8460 §3's record, strictly: the URIs kept (two at most, mailto: and https: only) or why there are none. */
  @Test
  void theRecordIsParsedStrictly() throws Exception {
    assertThat(TlsReports.rua(List.of("v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@x.test,mailto:b@x.test,"
        + "https://r.x.test/p;")))
        .extracting(TlsReports.Destination::uri).containsExactly("mailto:a@x.test", "mailto:b@x.test");
    assertThat(TlsReports.rua(List.of("v=TLSRPTv1;ext=1;rua=tel:1, https://r.x.test/p")))
        .extracting(TlsReports.Destination::uri).containsExactly("https://r.x.test/p");
    assertThatThrownBy(() -> TlsReports.rua(List.of())).hasMessage("no v=TLSRPTv1 record");
    assertThatThrownBy(() -> TlsReports.rua(List.of("v=TLSRPTv1; rua=mailto:a@x.test",
        "v=TLSRPTv1; rua=mailto:b@x.test")))
        .hasMessage("2 v=TLSRPTv1 records (RFC 8460 §3: one)");
    assertThatThrownBy(() -> TlsReports.rua(List.of("v=TLSRPTv1; ext=1"))).hasMessage("no rua field");
    assertThatThrownBy(() -> TlsReports.rua(List.of("v=TLSRPTv1;"))).hasMessage("an empty field");
    assertThatThrownBy(() -> TlsReports.rua(List.of("v=TLSRPTv1; rua=mailto:a@x.test; rua=mailto:b@x.test")))
        .hasMessage("two rua fields");
    assertThatThrownBy(() -> TlsReports.rua(List.of("v=TLSRPTv1; rua=mailto:not an address")))
        .hasMessageStartingWith("a malformed rua URI");
    assertThatThrownBy(() -> TlsReports.rua(List.of("v=TLSRPTv10; rua=mailto:a@x.test")))
        .hasMessage("the record does not begin with \"v=TLSRPTv1;\"");
  }

  /** {@code [delivery] tls_rpt_reports = false}: no report job at all. */
  @Test
  void reportsCanBeTurnedOff() throws Exception {
    try (TestServer off = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withDelivery(org.darwinmail.config.DeliveryConfig.defaults().withPort(good.port())
            .withMtaSts(true, web.port(), ca.pemFile().toString()).withTlsRpt(false, "")))) {
      assertThat(off.server().delivery().tlsReports()).isNull();
    }
    assertThat(a.server().delivery().tlsReports()).isNotNull();
  }
}
