package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The wizard's steps 4-7 over the JSON API on a real TLS socket, the server's resolver pointed at a loopback DNS
 * server: each needs the setup session and its CSRF token, none opens before the steps ahead of it, and what they
 * find is what DNS says.
 */
class WizardStepsTest {
  @TempDir
  Path dir;
  private final TestDns dns = new TestDns();
  private DarwinMail server;
  private AdminWeb web;
  private AdminHttp http;
  private String[] s;

  @BeforeEach
  void start() throws Exception {
    String e = "127.0.0.1:0";
    server = DarwinMail.start(TestServer.prepare(ServerConfig.defaults(dir)
        .withListen(new ListenConfig(e, e, e, e, e, e, e, e)).withDns(new DnsConfig(List.of(dns.address()), 1))));
    web = AdminWeb.start(server, new AdminWeb.Options(Duration.ofSeconds(20), Duration.ofMinutes(30),
        Duration.ofHours(12), Duration.ofMillis(10), Clock.systemUTC()));
    http = new AdminHttp(web.port());
    Matcher m = Pattern.compile("code=(\\S+)").matcher(Files.readString(dir.resolve("run/setup-code")));
    assertThat(m.find()).isTrue();
    AdminHttp.Reply r = http.post("/api/setup/code", "{\"code\":\"" + m.group(1) + "\"}");
    String c = r.header("Set-Cookie");
    Matcher t = Pattern.compile("\"csrf\":\"([^\"]+)\"").matcher(r.body());
    assertThat(t.find()).isTrue();
    s = new String[] {"Cookie: " + c.substring(0, c.indexOf(';')), "X-CSRF-Token: " + t.group(1)};
  }

  @AfterEach
  void stop() {
    web.close();
    server.close();
    dns.close();
  }

  private void throughHost() throws Exception {
    assertThat(http.post("/api/setup/admin", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}", s)
        .status()).isEqualTo(200);
    assertThat(http.post("/api/setup/host", "{\"hostname\":\"mail.example.test\",\"domain\":\"example.test\","
        + "\"acceptWarnings\":true}", s).status()).isEqualTo(200);
  }

  @Test
  void theStepsOpenInOrderAndOnlyWithTheSessionAndToken() throws Exception {
    assertThat(http.get("/api/setup/network", s[0]).status()).as("before the host step").isEqualTo(409);
    throughHost();
    assertThat(http.get("/api/setup/network").status()).as("no session").isEqualTo(401);
    assertThat(http.post("/api/setup/network", "{}", s[0]).status()).as("no CSRF token").isEqualTo(403);
    assertThat(http.post("/api/setup/tls/keep", "{}", s).status()).as("ahead of the network step").isEqualTo(409);
    AdminHttp.Reply net = http.get("/api/setup/network", s[0]);
    assertThat(net.status()).isEqualTo(200);
    assertThat(net.body()).contains("\"interfaces\":").contains("\"dnsServers\":").contains("\"behindNat\":");
    assertThat(http.post("/api/setup/network", "{}", s).body()).contains("\"step\":\"checks\"");
    assertThat(http.get("/api/setup/state", s[0]).body()).contains("\"step\":\"checks\"");
  }

  @Test
  void checksTlsAndDnsAnswerFromTheConfiguredResolver() throws Exception {
    dns.a("mail.example.test", "192.0.2.10").mx("example.test", 10, "mail.example.test");
    throughHost();
    http.post("/api/setup/network", "{}", s);
    AdminHttp.Reply bad = http.post("/api/setup/checks", "{\"publicAddress\":\"not an address\"}", s);
    assertThat(bad.status()).isEqualTo(422);
    assertThat(bad.body()).contains("\"field\":\"publicAddress\"");
    AdminHttp.Reply f = http.post("/api/setup/checks", "{\"check\":\"forward\",\"publicAddress\":\"192.0.2.10\"}", s);
    assertThat(f.body()).contains("\"id\":\"forward\",\"status\":\"ok\"").doesNotContain("\"reverse\"");
    AdminHttp.Reply r = http.post("/api/setup/checks", "{\"check\":\"reverse\"}", s);
    assertThat(r.body()).as("the address is remembered").contains("\"address\":\"192.0.2.10\"")
        .contains("\"status\":\"fail\"").contains("has no reverse DNS");
    assertThat(http.post("/api/setup/checks", "{\"check\":\"nonsense\"}", s).status()).isEqualTo(400);
    http.post("/api/setup/checks/done", "{}", s);

    AdminHttp.Reply tls = http.get("/api/setup/tls", s[0]);
    assertThat(tls.body()).contains("\"selfSigned\":true").contains("\"acmeAllowed\":true");
    AdminHttp.Reply upload = http.post("/api/setup/tls/upload", "{\"certificate\":\"hello\",\"key\":\"x\"}", s);
    assertThat(upload.status()).isEqualTo(422);
    assertThat(upload.body()).contains("No certificate found");
    dns.clear("mail.example.test");
    dns.a("mail.example.test", "198.51.100.1");
    AdminHttp.Reply acme = http.post("/api/setup/tls/acme", "{\"email\":\"\"}", s);
    assertThat(acme.status()).as("ACME only once the name points here").isEqualTo(409);
    assertThat(acme.body()).contains("points at 198.51.100.1, not at this appliance");
    assertThat(http.post("/api/setup/tls/keep", "{}", s).body()).contains("\"step\":\"dns\"");

    AdminHttp.Reply records = http.get("/api/setup/dns", s[0]);
    assertThat(records.status()).isEqualTo(200);
    assertThat(records.body()).contains("\"name\":\"example.test\",\"type\":\"MX\",\"value\":\"10 mail.example.test.\"")
        .contains("\"status\":\"ok\"").contains("\"status\":\"wrong\"").contains("\"status\":\"missing\"")
        .contains("darwin._domainkey.example.test").contains("v=DKIM1; k=rsa; p=")
        .contains("\"zone\":\"example.test. 3600 IN MX 10 mail.example.test.\\n");
    assertThat(http.post("/api/setup/dns", "{}", s).body()).contains("\"step\":\"mailbox\"");
    AdminHttp.Reply state = http.get("/api/setup/state", s[0]);
    assertThat(state.body()).contains("\"publicAddress\":\"192.0.2.10\"").contains("\"tls\":\"self-signed\"")
        .contains("\"dnsSeen\":\"1 of 14\"").contains("The certificate is self-signed");
  }
}
