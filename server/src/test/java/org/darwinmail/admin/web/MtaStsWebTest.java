package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.admin.dns.MtaStsPolicy;
import org.darwinmail.admin.settings.Settings;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.MtaStsConfig;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import tools.jackson.databind.JsonNode;

/**
 * The MTA-STS policy (RFC 8461 §3.2-3.3) fetched the way a sending MTA fetches it: curl over HTTPS to
 * {@code mta-sts.<domain>} on the {@code [listen] https} listener (loopback, port 0), verifying the server's
 * self-signed certificate (trusted as the CA) and its name; 404 for any other path, host or a domain that does not
 * publish; the console's DNS page listing the policy's records with the id of the text served.
 */
class MtaStsWebTest {
  static final String D = "example.test";
  static final String OTHER = "other.test";
  static final String HOST = "mail.example.test";
  final TestDns dns = new TestDns();
  TestServer server;
  AdminWeb web;

  @BeforeEach
  void start() {
    String e = "127.0.0.1:0";
    server = TestServer.start(c -> c.withHostname(HOST)
        .withListen(c.listen().withHttps(e).withAdmin(e))
        .withDns(new DnsConfig(List.of(dns.address()), 1))
        .withMtaSts(new MtaStsConfig(List.of(D), "enforce", 86400L)));
    Unattended.complete(server.dataDir(), server.services().directory(),
        new Settings(HOST, D, "ada", "mailbox-pw".toCharArray(), List.of()), "admin", null,
        "correct horse battery".toCharArray());
    server.services().directory().addDomain(OTHER);
    web = AdminWeb.start(server.server(), new AdminWeb.Options(Duration.ofSeconds(20), Duration.ofMinutes(30),
        Duration.ofHours(12), Duration.ofMillis(10), Clock.systemUTC()));
  }

  @AfterEach
  void stop() {
    if (web != null) {
      web.close();
    }
    if (server != null) {
      server.close();
    }
    dns.close();
  }

  record Fetched(int exit, String head, String body) {
    int status() {
      String first = head.lines().findFirst().orElse("");
      return first.isEmpty() ? -1 : Integer.parseInt(first.split(" ")[1]);
    }
  }

  /**
   * curl to https://NAME:PORT/PATH with NAME resolved to 127.0.0.1 (--resolve: SNI and the certificate's name are
   * checked against NAME), the server's certificate as the only CA; extra arguments before the URL.
   */
  Fetched curl(String name, String path, String... extra) throws Exception {
    int port = web.httpsPort();
    Path cert = server.dataDir().resolve("tls/cert.pem");
    Path head = server.dataDir().resolve("curl-head.txt");
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "--proto", "=https",
        "--resolve", name + ":" + port + ":127.0.0.1", "--cacert", cert.toString(), "-D", head.toString()));
    cmd.addAll(List.of(extra));
    cmd.add("https://" + name + ":" + port + path);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
    byte[] body = p.getInputStream().readAllBytes();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    int exit = p.waitFor();
    String h = java.nio.file.Files.exists(head) ? java.nio.file.Files.readString(head) : "";
    java.nio.file.Files.deleteIfExists(head);
    assertThat(exit).as("curl: " + err).isZero();
    return new Fetched(exit, h, new String(body, StandardCharsets.US_ASCII));
  }

  @Test
  void aSenderFetchesThePolicyOverHttpsWithTheCertificateNamingMtaStsDotDomain() throws Exception {
    assertThat(web.httpsPort()).isPositive().isNotEqualTo(web.port());
    Fetched f = curl("mta-sts." + D, "/.well-known/mta-sts.txt");
    assertThat(f.status()).isEqualTo(200);
    assertThat(f.head().toLowerCase(java.util.Locale.ROOT)).contains("content-type: text/plain");
    assertThat(f.body()).isEqualTo("version: STSv1\r\nmode: enforce\r\nmx: " + HOST + "\r\nmax_age: 86400\r\n");
    // HEAD as well, and a Host header with a port and a final dot
    assertThat(curl("mta-sts." + D, "/.well-known/mta-sts.txt", "-I").status()).isEqualTo(200);
    assertThat(curl("mta-sts." + D, "/.well-known/mta-sts.txt", "-H", "Host: MTA-STS." + D + ".:443").status())
        .isEqualTo(200);
  }

  @Test
  void anythingElseIs404AndNeverTheConsole() throws Exception {
    for (String path : List.of("/", "/.well-known/mta-sts.txt/", "/.well-known/", "/setup/", "/api/session",
        "/console/dashboard", "/login.html", "/metrics")) {
      Fetched f = curl("mta-sts." + D, path);
      assertThat(f.status()).as(path).isEqualTo(404);
      assertThat(f.head().toLowerCase(java.util.Locale.ROOT)).as(path).doesNotContain("location:");
    }
    assertThat(curl("mta-sts." + D, "/.well-known/mta-sts.txt", "-X", "POST", "-d", "x").status()).isEqualTo(404);
    // a domain that does not publish, a name that is no domain of ours, the host name itself
    assertThat(curl("mta-sts." + D, "/.well-known/mta-sts.txt", "-H", "Host: mta-sts." + OTHER).status())
        .isEqualTo(404);
    assertThat(curl("mta-sts." + D, "/.well-known/mta-sts.txt", "-H", "Host: mta-sts.elsewhere.test").status())
        .isEqualTo(404);
    assertThat(curl("mta-sts." + D, "/.well-known/mta-sts.txt", "-H", "Host: " + HOST).status()).isEqualTo(404);
  }

  @Test
  void theConsoleListsThePolicysRecordsWithTheIdOfTheTextServed() throws Exception {
    String served = curl("mta-sts." + D, "/.well-known/mta-sts.txt").body();
    String id = new MtaStsPolicy("enforce", HOST, 86400).id();
    assertThat(new MtaStsPolicy("enforce", HOST, 86400).text()).isEqualTo(served);
    dns.txt("_mta-sts." + D, "v=STSv1; id=" + id)
        .add(new CNAMERecord(Name.fromString("mta-sts." + D + "."), DClass.IN, 60, Name.fromString("web.test.")));
    AdminHttp http = new AdminHttp(web.port());
    String[] session = http.signIn("admin", "correct horse battery");
    AdminHttp.Reply r = http.get("/api/dns?domain=" + D, session);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode page = Response.JSON.readTree(r.body());
    JsonNode rec = page.path("records");
    assertThat(ConsoleDnsTest.row(rec, "_mta-sts." + D, "TXT").path("value").asString()).isEqualTo("v=STSv1; id=" + id);
    assertThat(ConsoleDnsTest.row(rec, "_mta-sts." + D, "TXT").path("status").asString()).isEqualTo("ok");
    assertThat(ConsoleDnsTest.row(rec, "mta-sts." + D, "CNAME").path("status").asString()).isEqualTo("wrong");
    assertThat(ConsoleDnsTest.row(rec, "_smtp._tls." + D, "TXT").path("value").asString())
        .isEqualTo("v=TLSRPTv1; rua=mailto:postmaster@" + D);
    assertThat(ConsoleDnsTest.row(rec, "_smtp._tls." + D, "TXT").path("status").asString()).isEqualTo("missing");
    assertThat(page.path("zone").asString()).contains("_mta-sts." + D + ". 3600 IN TXT \"v=STSv1; id=" + id + "\"\n");
    // the dashboard lists the policy's listener beside the others
    JsonNode listeners = Response.JSON.readTree(http.get("/api/dashboard", session).body()).path("listeners");
    JsonNode https = listeners.valueStream().filter(l -> l.path("name").asString().equals("https")).findFirst()
        .orElseThrow();
    assertThat(https.path("port").asInt()).isEqualTo(web.httpsPort());
    assertThat(https.path("state").asString()).isEqualTo("up");
    // a domain that does not publish lists none of them
    JsonNode other = Response.JSON.readTree(http.get("/api/dns?domain=" + OTHER, session).body()).path("records");
    assertThat(other.toString()).doesNotContain("_mta-sts.").doesNotContain("_smtp._tls.");
  }

  @Test
  void withoutTheHttpsListenerNoMtaStsRecordIsListed() {
    org.darwinmail.dns.Dns resolver = new org.darwinmail.dns.Dns(new DnsConfig(List.of(dns.address()), 1));
    MtaStsConfig on = new MtaStsConfig(List.of(D), "testing", null);
    var listen = org.darwinmail.config.ListenConfig.ephemeral();
    DomainDns off = new DomainDns(new DomainDns.Parts(resolver, null, false, listen, on, () -> HOST, () -> null));
    assertThat(off.expected(D)).extracting(e -> e.name()).doesNotContain("_mta-sts." + D, "mta-sts." + D);
    DomainDns served = new DomainDns(new DomainDns.Parts(resolver, null, false, listen.withHttps("127.0.0.1:0"), on,
        () -> HOST, () -> null));
    assertThat(served.expected(D)).extracting(e -> e.name()).contains("_mta-sts." + D, "mta-sts." + D,
        "_smtp._tls." + D);
  }
}
