package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.darwinmail.admin.settings.Settings;
import org.darwinmail.admin.tls.TestCerts;
import org.darwinmail.config.BackupConfig;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.SRVRecord;
import tools.jackson.databind.JsonNode;

/**
 * The console's DNS API and the dashboard's cards on a real server over HTTPS: the records each domain must publish
 * with the status the configured resolver (a {@link TestDns} on loopback) gives them, the dashboard's health per
 * domain, a hostile domain name refused as text, the certificate's source and ACME renewal, the last backup.
 */
class ConsoleDnsTest {
  static final String D = "example.test";
  static final String HOST = "mail.example.test";
  @TempDir
  Path backups;
  final TestDns dns = new TestDns();
  TestServer server;
  AdminWeb web;
  AdminHttp http;
  String[] session;

  void start(UnaryOperator<ServerConfig> more) throws Exception {
    String e = "127.0.0.1:0";
    server = TestServer.start(c -> more.apply(c.withListen(new ListenConfig(e, e, e, e, e, e, e, e))
        .withDns(new DnsConfig(List.of(dns.address()), 1))));
    Unattended.complete(server.dataDir(), server.services().directory(),
        new Settings(HOST, D, "ada", "mailbox-pw".toCharArray(), List.of()), "admin", null,
        "correct horse battery".toCharArray());
    web = AdminWeb.start(server.server(), new AdminWeb.Options(Duration.ofSeconds(20), Duration.ofMinutes(30),
        Duration.ofHours(12), Duration.ofMillis(10), Clock.systemUTC()));
    http = new AdminHttp(web.port());
    session = http.signIn("admin", "correct horse battery");
  }

  @AfterEach
  void stop() throws Exception {
    if (web != null) {
      web.close();
    }
    if (server != null) {
      server.close();
    }
    dns.close();
  }

  JsonNode get(String path) throws Exception {
    AdminHttp.Reply r = http.get(path, session);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return Response.JSON.readTree(r.body());
  }

  static JsonNode row(JsonNode records, String name, String type) {
    for (JsonNode x : records) {
      if (x.path("name").asString().equals(name) && x.path("type").asString().equals(type)) {
        return x;
      }
    }
    throw new AssertionError("no " + type + " " + name + " in " + records);
  }

  void srv(String service, int port) throws Exception {
    dns.add(new SRVRecord(Name.fromString("_" + service + "._tcp." + D + "."), DClass.IN, 60, 0, 1, port,
        Name.fromString(HOST + ".")));
  }

  @Test
  void eachDomainsRecordsAreListedWithWhatTheResolverSees() throws Exception {
    dns.mx(D, 10, HOST).txt(D, "v=spf1 -all").servfail("_dmarc." + D);
    srv("imaps", 993);
    srv("submissions", 4650);
    start(c -> c);
    server.services().directory().addDomain("other.test");

    JsonNode page = get("/api/dns?domain=" + D);
    assertThat(page.path("domain").asString()).isEqualTo(D);
    assertThat(page.path("hostname").asString()).as("the wizard's host name").isEqualTo(HOST);
    JsonNode rec = page.path("records");
    assertThat(row(rec, D, "MX").path("status").asString()).isEqualTo("ok");
    assertThat(row(rec, D, "MX").path("value").asString()).isEqualTo("10 " + HOST + ".");
    assertThat(row(rec, D, "TXT").path("status").asString()).isEqualTo("wrong");
    assertThat(row(rec, D, "TXT").path("message").asString()).contains("seen v=spf1 -all");
    assertThat(row(rec, "darwin._domainkey." + D, "TXT").path("status").asString()).isEqualTo("missing");
    assertThat(row(rec, "darwin._domainkey." + D, "TXT").path("value").asString()).startsWith("v=DKIM1; k=rsa; p=");
    assertThat(row(rec, "_dmarc." + D, "TXT").path("status").asString()).isEqualTo("unknown");
    assertThat(row(rec, "autoconfig." + D, "CNAME").path("status").asString()).isEqualTo("missing");
    // RFC 6186 SRV records of the client listeners, at their standard ports (the test's listeners use port 0)
    assertThat(row(rec, "_imaps._tcp." + D, "SRV").path("value").asString()).isEqualTo("0 1 993 " + HOST + ".");
    assertThat(row(rec, "_imaps._tcp." + D, "SRV").path("status").asString()).isEqualTo("ok");
    assertThat(row(rec, "_submissions._tcp." + D, "SRV").path("status").asString()).isEqualTo("wrong");
    assertThat(row(rec, "_submission._tcp." + D, "SRV").path("zone").asString())
        .isEqualTo("_submission._tcp." + D + ". 3600 IN SRV 0 1 587 " + HOST + ".");
    assertThat(row(rec, "_pop3._tcp." + D, "SRV").path("status").asString()).isEqualTo("missing");
    assertThat(page.path("zone").asString()).contains(D + ". 3600 IN MX 10 " + HOST + ".\n");

    // the dashboard's card: each domain's worst status and what is not right yet
    JsonNode health = get("/api/dns");
    assertThat(health.path("total").asInt()).isEqualTo(2);
    Map<String, JsonNode> byDomain = new java.util.HashMap<>();
    health.path("domains").forEach(h -> byDomain.put(h.path("domain").asString(), h));
    assertThat(byDomain.get(D).path("status").asString()).isEqualTo("wrong");
    assertThat(byDomain.get(D).path("counts").path("ok").asInt()).isGreaterThanOrEqualTo(2);
    assertThat(byDomain.get(D).path("counts").path("unknown").asInt()).isEqualTo(1);
    assertThat(byDomain.get(D).path("problems").toString()).contains("\"name\":\"_dmarc.example.test\"")
        .doesNotContain("\"type\":\"MX\"");
    assertThat(byDomain.get("other.test").path("status").asString()).isEqualTo("missing");
    assertThat(byDomain.get("other.test").path("counts").path("ok").asInt()).isZero();
  }

  @Test
  void anUnknownOrHostileDomainIsRefusedAsTextAndAStrangerIsRefused() throws Exception {
    start(c -> c);
    String hostile = "<script>alert(1)</script>";
    AdminHttp.Reply r = http.get("/api/dns?domain=" + java.net.URLEncoder.encode(hostile,
        java.nio.charset.StandardCharsets.UTF_8), session);
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.header("Content-Type")).startsWith("application/json");
    assertThat(Response.JSON.readTree(r.body()).path("error").asString()).isEqualTo("no such domain: " + hostile);
    assertThat(http.get("/api/dns?domain=" + "x".repeat(400), session).status()).isEqualTo(422);
    assertThat(http.get("/api/dns").status()).isEqualTo(401);
    assertThat(http.get("/api/dns?domain=" + D).status()).isEqualTo(401);
    AdminHttp.Reply pageHtml = http.get("/console/dns");
    assertThat(pageHtml.status()).isEqualTo(200);
    assertThat(pageHtml.header("Content-Security-Policy")).contains("script-src 'self'");
    assertThat(pageHtml.body()).contains("<script type=\"module\" src=\"/static/dns.js\"></script>")
        .doesNotContain("<nav").doesNotContain("<header");
  }

  @Test
  void theDashboardShowsTheCertificatesSourceAndNoBackupYet() throws Exception {
    start(c -> c);
    JsonNode d = get("/api/dashboard");
    assertThat(d.path("certificate").path("source").asString()).isEqualTo("self-signed");
    assertThat(d.path("certificate").has("renewal")).isFalse();
    assertThat(d.path("backup").path("last").isNull()).as("never").isTrue();
    assertThat(d.path("backup").path("schedule").asString()).isEmpty();

    // a certificate from a CA, uploaded
    TestCerts.Issued ca = TestCerts.issue("Test CA", null, true, Instant.now().minusSeconds(60),
        Duration.ofDays(365), TestCerts.rsa());
    TestCerts.Issued leaf = TestCerts.issue(HOST, ca, false, Instant.now().minusSeconds(60), Duration.ofDays(90),
        TestCerts.rsa(), HOST);
    server.server().tls().install(TestCerts.pem(leaf.cert(), ca.cert()), TestCerts.pkcs8(leaf.keys().getPrivate()));
    JsonNode c = get("/api/dashboard").path("certificate");
    assertThat(c.path("source").asString()).isEqualTo("uploaded");
    assertThat(c.path("issuer").asString()).isEqualTo("CN=Test CA");
    assertThat(c.path("daysLeft").asLong()).isBetween(88L, 90L);
    assertThat(c.has("renewal")).isFalse();

    // the same certificate recorded as an ACME order (what admin.tls.Acme writes after an order): renewed 30 days
    // before its end, the next check a minute after the start
    Path order = server.dataDir().resolve("tls/acme/order.properties");
    Files.createDirectories(order.getParent());
    Files.writeString(order, "directory=https://acme.test/dir\nhostname=" + HOST + "\nemail=\n");
    c = get("/api/dashboard").path("certificate");
    assertThat(c.path("source").asString()).isEqualTo("ACME");
    Instant end = Instant.parse(c.path("notAfter").asString());
    assertThat(Instant.parse(c.path("renewal").path("renewsFrom").asString())).isEqualTo(end.minus(Duration.ofDays(30)));
    assertThat(Instant.parse(c.path("renewal").path("nextCheck").asString()))
        .isBetween(Instant.now(), Instant.now().plusSeconds(61));
    assertThat(c.path("renewal").path("hostname").asString()).isEqualTo(HOST);
  }

  @Test
  void theDashboardShowsTheLastScheduledBackupVerified() throws Exception {
    start(c -> c.withBackup(new BackupConfig("every 1s", backups.toString(), 2, 0)));
    server.addUser("bob@" + D, "bob-pw");
    await().atMost(Duration.ofSeconds(60)).until(() -> !get("/api/dashboard").path("backup").path("last").isNull());
    JsonNode b = get("/api/dashboard").path("backup");
    assertThat(b.path("schedule").asString()).isEqualTo("every 1s");
    JsonNode last = b.path("last");
    assertThat(last.path("ok").asBoolean()).as(last.toString()).isTrue();
    assertThat(last.path("bytes").asLong()).isPositive();
    assertThat(Instant.parse(last.path("finished").asString())).isBefore(Instant.now().plusSeconds(1));
    assertThat(last.path("backup").asString()).startsWith(backups.resolve("scheduled-").toString());
  }

  @Test
  void aSilentResolverCostsAFewTimeoutsNotOnePerRecord() throws Exception {
    try (java.net.DatagramSocket silent = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
      // every query reaches a socket that never answers (timeout 1 s per query)
      start(c -> c.withDns(new DnsConfig(List.of("127.0.0.1:" + silent.getLocalPort()), 1)));
      server.services().directory().addDomain("two.test");
      server.services().directory().addDomain("three.test");
      long t0 = System.nanoTime();
      JsonNode health = get("/api/dns");
      long millis = (System.nanoTime() - t0) / 1_000_000;
      assertThat(health.path("domains").size()).isEqualTo(3);
      health.path("domains").forEach(h -> {
        assertThat(h.path("status").asString()).isEqualTo("unknown");
        assertThat(h.path("counts").path("unknown").asInt()).isEqualTo(h.path("total").asInt());
      });
      // 3 domains x 14 records one after the other would take 42 timeouts at least
      assertThat(millis).as("%d ms", millis).isLessThan(15_000);
      System.out.println("ConsoleDnsTest: /api/dns for 3 domains (42 records) on a silent resolver: " + millis + " ms");
    }
  }
}
