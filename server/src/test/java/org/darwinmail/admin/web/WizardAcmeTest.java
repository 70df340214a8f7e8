package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.tls.Acme;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.HostPort;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.Pebble;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The wizard's ACME choice end to end: the host name points at the appliance (a loopback DNS server says so, to the
 * server and to pebble alike), the order runs against Debian's pebble, and the admin listener's next handshake
 * already serves the new certificate: no restart; after setup the dashboard names ACME as its source, with the
 * renewal 30 days before its end.
 */
class WizardAcmeTest {
  @TempDir
  Path dir;

  @Test
  void theAcmeChoiceInstallsACertificateServedWithoutARestart() throws Exception {
    try (TestDns dns = new TestDns()) {
      dns.a("mail.example.test", "127.0.0.1");
      Pebble pebble = new Pebble(dir.resolve("pebble"), dns);
      String e = "127.0.0.1:0";
      try (DarwinMail server = DarwinMail.start(TestServer.prepare(ServerConfig.defaults(dir.resolve("data"))
              .withListen(new ListenConfig(e, e, e, e, e, e, e, e)).withDns(new DnsConfig(List.of(dns.address()), 1))));
          AdminWeb web = AdminWeb.start(server, new AdminWeb.Options(Duration.ofSeconds(20), Duration.ofMinutes(30),
              Duration.ofHours(12), Duration.ofMillis(10), Clock.systemUTC(), new Acme.Options(
                  HostPort.parse("http01", "127.0.0.1:" + pebble.http01Port()), pebble.trust(),
                  Duration.ofSeconds(30))))) {
        AdminHttp http = new AdminHttp(web.port());
        Matcher m = Pattern.compile("code=(\\S+)").matcher(Files.readString(dir.resolve("data/run/setup-code")));
        assertThat(m.find()).isTrue();
        AdminHttp.Reply r = http.post("/api/setup/code", "{\"code\":\"" + m.group(1) + "\"}");
        Matcher t = Pattern.compile("\"csrf\":\"([^\"]+)\"").matcher(r.body());
        assertThat(t.find()).isTrue();
        String c = r.header("Set-Cookie");
        String[] s = {"Cookie: " + c.substring(0, c.indexOf(';')), "X-CSRF-Token: " + t.group(1)};
        http.post("/api/setup/admin", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}", s);
        http.post("/api/setup/host", "{\"hostname\":\"mail.example.test\",\"domain\":\"example.test\","
            + "\"acceptWarnings\":true}", s);
        http.post("/api/setup/network", "{}", s);
        assertThat(http.post("/api/setup/checks", "{\"check\":\"forward\",\"publicAddress\":\"127.0.0.1\"}", s).body())
            .contains("\"status\":\"ok\"");
        http.post("/api/setup/checks/done", "{}", s);
        assertThat(http.get("/api/setup/tls", s[0]).body()).contains("\"acmeAllowed\":true");

        AdminHttp.Reply acme = http.post("/api/setup/tls/acme", "{\"email\":\"postmaster@example.test\","
            + "\"directory\":\"" + pebble.directory() + "\"}", s);
        assertThat(acme.status()).as(acme.body()).isEqualTo(200);
        assertThat(acme.body()).contains("\"step\":\"dns\"");
        try (SSLSocket socket = http.open()) {
          X509Certificate served = (X509Certificate) socket.getSession().getPeerCertificates()[0];
          assertThat(served.getIssuerX500Principal().getName()).contains("Pebble");
        }
        assertThat(http.get("/api/setup/state", s[0]).body()).contains("\"tls\":\"ACME: CN=Pebble");

        // after setup, the console's dashboard says where the certificate came from and when it is renewed
        http.post("/api/setup/dns", "{}", s);
        assertThat(http.post("/api/setup/mailbox", "{\"mailbox\":\"ada@example.test\",\"password\":"
            + "\"mailbox-secret-1\"}", s).status()).isEqualTo(200);
        AdminHttp.Reply done = http.post("/api/setup/finish", "{}", s);
        assertThat(done.status()).as(done.body()).isEqualTo(200);
        String admin = done.header("Set-Cookie");
        JsonNode cert = Response.JSON.readTree(http.get("/api/dashboard", "Cookie: "
            + admin.substring(0, admin.indexOf(';'))).body()).path("certificate");
        assertThat(cert.path("source").asString()).isEqualTo("ACME");
        assertThat(cert.path("issuer").asString()).contains("Pebble");
        assertThat(cert.path("renewal").path("hostname").asString()).isEqualTo("mail.example.test");
        assertThat(cert.path("renewal").path("directory").asString()).isEqualTo(pebble.directory());
        assertThat(Instant.parse(cert.path("renewal").path("renewsFrom").asString()))
            .isEqualTo(Instant.parse(cert.path("notAfter").asString()).minus(Duration.ofDays(30)));
        assertThat(cert.path("renewal").path("lastFailure").isNull()).isTrue();
      } finally {
        pebble.close();
      }
    }
  }
}
