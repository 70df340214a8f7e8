package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin listener on a real socket over TLS: its limits (414, 431, 413, the request deadline), the security
 * headers on every response, the setup code, CSRF and cross-site refusals, session expiry, and the wizard gone
 * after setup.
 */
class AdminWebTest {
  @TempDir
  Path dir;
  DarwinMail server;
  AdminWeb web;
  AdminHttp http;
  final MutableClock clock = new MutableClock();

  static final class MutableClock extends Clock {
    volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @BeforeEach
  void start() throws Exception {
    String e = "127.0.0.1:0";
    ServerConfig c = ServerConfig.defaults(dir).withListen(new ListenConfig(e, e, e, e, e, e, e, e));
    server = DarwinMail.start(org.darwinmail.testing.TestServer.prepare(c)); // one RSA key and migration per JVM
    web = AdminWeb.start(server, new AdminWeb.Options(Duration.ofSeconds(2), Duration.ofMinutes(30),
        Duration.ofHours(12), Duration.ofMillis(10), clock));
    http = new AdminHttp(web.port());
  }

  @AfterEach
  void stop() {
    web.close();
    server.close();
  }

  private String setupCode() throws Exception {
    String text = Files.readString(dir.resolve("run/setup-code"));
    Matcher m = Pattern.compile("code=(\\S+)").matcher(text);
    assertThat(m.find()).isTrue();
    return m.group(1);
  }

  private static String cookieOf(AdminHttp.Reply r) {
    String c = r.header("Set-Cookie");
    return c.substring(0, c.indexOf(';'));
  }

  private static String csrfOf(AdminHttp.Reply r) {
    Matcher m = Pattern.compile("\"csrf\":\"([^\"]+)\"").matcher(r.body());
    assertThat(m.find()).as(r.body()).isTrue();
    return m.group(1);
  }

  /** A setup session: cookie header and CSRF token. */
  private String[] enterCode() throws Exception {
    AdminHttp.Reply r = http.post("/api/setup/code", "{\"code\":\"" + setupCode() + "\"}");
    assertThat(r.status()).isEqualTo(200);
    return new String[] {"Cookie: " + cookieOf(r), "X-CSRF-Token: " + csrfOf(r)};
  }

  private String[] finishSetup() throws Exception {
    String[] s = enterCode();
    assertThat(http.post("/api/setup/admin", "{\"name\":\"admin\",\"displayName\":\"Ada\","
        + "\"password\":\"correct horse battery\"}", s).status()).isEqualTo(200);
    assertThat(http.post("/api/setup/host", "{\"hostname\":\"mail.example.test\",\"domain\":\"example.test\","
        + "\"acceptWarnings\":true}", s).status()).isEqualTo(200);
    for (String step : new String[] {"network", "checks/done", "tls/keep", "dns"}) { // steps 4-7 only inform
      assertThat(http.post("/api/setup/" + step, "{}", s).status()).as(step).isEqualTo(200);
    }
    assertThat(http.post("/api/setup/mailbox", "{\"mailbox\":\"ada@example.test\",\"password\":\"mailbox-pw\"}", s)
        .status()).isEqualTo(200);
    AdminHttp.Reply done = http.post("/api/setup/finish", "{}", s);
    assertThat(done.status()).isEqualTo(200);
    return new String[] {"Cookie: " + cookieOf(done), "X-CSRF-Token: " + csrfOf(done)};
  }

  @Test
  void securityHeadersOnEveryResponse() throws Exception {
    for (AdminHttp.Reply r : new AdminHttp.Reply[] {http.get("/setup/"), http.get("/api/setup/state"),
        http.get("/static/nothing.js"), http.get("/console/")}) {
      assertThat(r.header("Content-Security-Policy")).contains("default-src 'self'").contains("frame-ancestors 'none'")
          .doesNotContain("unsafe-inline");
      assertThat(r.header("X-Frame-Options")).isEqualTo("DENY");
      assertThat(r.header("Strict-Transport-Security")).startsWith("max-age=");
      assertThat(r.header("X-Content-Type-Options")).isEqualTo("nosniff");
      assertThat(r.header("Referrer-Policy")).isEqualTo("no-referrer");
    }
    assertThat(http.get("/api/setup/state").header("Cache-Control")).isEqualTo("no-store");
    assertThat(http.get("/static/setup.js").header("Content-Type")).startsWith("text/javascript");
  }

  @Test
  void requestLineTooLongIs414() throws Exception {
    AdminHttp.Reply r = http.get("/" + "a".repeat(AdminWeb.MAX_LINE + 10));
    assertThat(r.status()).isEqualTo(414);
    assertThat(r.header("X-Frame-Options")).isEqualTo("DENY");
  }

  @Test
  void headersTooLargeAre431() throws Exception {
    AdminHttp.Reply r = http.get("/setup/", "X-Big: " + "b".repeat(AdminWeb.MAX_HEADERS + 10));
    assertThat(r.status()).isEqualTo(431);
  }

  @Test
  void bodyTooLargeIs413() throws Exception {
    AdminHttp.Reply r = http.post("/api/setup/code", "{\"code\":\"" + "x".repeat(AdminWeb.MAX_BODY + 10) + "\"}");
    assertThat(r.status()).isEqualTo(413);
    assertThat(r.header("Content-Security-Policy")).isNotNull();
  }

  @Test
  void aRequestThatNeverEndsIsCutOff() throws Exception {
    try (SSLSocket s = http.open()) {
      s.getOutputStream().write("GET /setup/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      assertThat(in.read()).as("the server closes the connection").isEqualTo(-1);
    }
  }

  @Test
  void wrongSetupCodeIsRefusedAndTheRightOneOpensTheWizard() throws Exception {
    AdminHttp.Reply wrong = http.post("/api/setup/code", "{\"code\":\"ABCDE-FGHJK\"}");
    assertThat(wrong.status()).isEqualTo(422);
    assertThat(wrong.header("Set-Cookie")).isNull();
    String[] s = enterCode();
    assertThat(s[0]).startsWith("Cookie: __Host-dm_session=");
    AdminHttp.Reply r = http.post("/api/setup/code", "{\"code\":\"" + setupCode().toLowerCase() + "\"}");
    assertThat(r.header("Set-Cookie")).contains("Secure").contains("HttpOnly").contains("SameSite=Strict")
        .contains("Path=/");
    assertThat(http.get("/api/setup/state", s[0]).body()).contains("\"step\":\"admin\"");
  }

  @Test
  void stateChangesNeedTheCsrfTokenAndTheSameOrigin() throws Exception {
    String[] s = enterCode();
    String body = "{\"name\":\"admin\",\"password\":\"correct horse battery\"}";
    assertThat(http.post("/api/setup/admin", body, s[0]).status()).as("no token").isEqualTo(403);
    assertThat(http.post("/api/setup/admin", body, s[0], "X-CSRF-Token: forged").status()).isEqualTo(403);
    assertThat(http.post("/api/setup/admin", body, s[0], s[1], "Origin: https://evil.example").status())
        .as("another origin").isEqualTo(403);
    assertThat(http.post("/api/setup/admin", body, s[0], s[1], "Sec-Fetch-Site: cross-site").status())
        .as("cross-site").isEqualTo(403);
    assertThat(http.post("/api/setup/admin", body, s[0], s[1], "Origin: https://127.0.0.1:" + web.port(),
        "Sec-Fetch-Site: same-origin").status()).isEqualTo(200);
  }

  @Test
  void beforeSetupOnlyTheWizardAnswers() throws Exception {
    assertThat(http.get("/").header("Location")).isEqualTo("/setup/");
    assertThat(http.get("/api/domains").status()).isEqualTo(403);
    assertThat(http.get("/api/domains").body()).contains("finish setup first");
    assertThat(http.get("/console/").body()).contains("Finish setup first");
    assertThat(http.post("/setup/", "{}").status()).as("a page is not posted to").isEqualTo(405);
  }

  @Test
  void afterSetupTheWizardIsGoneAndTheSettingsAreApplied() throws Exception {
    String[] admin = finishSetup();
    assertThat(http.get("/setup/").status()).isEqualTo(404);
    assertThat(http.get("/api/setup/state").status()).isEqualTo(404);
    assertThat(http.post("/api/setup/code", "{\"code\":\"x\"}").status()).isEqualTo(404);
    assertThat(Files.exists(dir.resolve("run/setup-code"))).isFalse();
    assertThat(http.get("/api/session").status()).as("logged out").isEqualTo(401);
    assertThat(http.get("/api/session", admin[0]).body()).contains("\"user\":\"admin\"");
    assertThat(server.services().directory().domains()).containsExactly("example.test");
    assertThat(server.services().directory().aliases()).containsKeys("postmaster@example.test", "abuse@example.test");
    assertThat(ConfigLoader.load(writeConfig()).hostname()).isEqualTo("mail.example.test");
  }

  private Path writeConfig() throws Exception {
    Path c = dir.resolve("darwinmail.toml");
    Files.writeString(c, "data_dir = \"" + dir + "\"\n");
    return c;
  }

  @Test
  void sessionsEndAfterIdleTimeAndAfterTheirMaximumAndAtLogout() throws Exception {
    String[] admin = finishSetup();
    clock.now = clock.now.plus(Duration.ofMinutes(29));
    assertThat(http.get("/api/session", admin[0]).status()).isEqualTo(200);
    clock.now = clock.now.plus(Duration.ofMinutes(31));
    assertThat(http.get("/api/session", admin[0]).status()).as("idle").isEqualTo(401);

    AdminHttp.Reply login = http.post("/api/login", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}");
    assertThat(login.status()).isEqualTo(200);
    String cookie = "Cookie: " + cookieOf(login);
    for (int i = 0; i < 25; i++) { // active every 29 minutes, for more than 12 hours
      clock.now = clock.now.plus(Duration.ofMinutes(29));
      if (http.get("/api/session", cookie).status() != 200) {
        assertThat(i * 29L).as("minutes before the absolute expiry").isGreaterThanOrEqualTo(11 * 60);
        break;
      }
      assertThat(i).as("still valid after 12 hours").isLessThan(25);
    }
    assertThat(http.get("/api/session", cookie).status()).isEqualTo(401);

    AdminHttp.Reply again = http.post("/api/login", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}");
    String c2 = "Cookie: " + cookieOf(again);
    assertThat(http.post("/api/logout", "{}", c2, "X-CSRF-Token: " + csrfOf(again)).status()).isEqualTo(200);
    assertThat(http.get("/api/session", c2).status()).isEqualTo(401);
  }

  @Test
  void aWrongPasswordIsRefused() throws Exception {
    finishSetup();
    assertThat(http.post("/api/login", "{\"name\":\"admin\",\"password\":\"wrong\"}").status()).isEqualTo(401);
    assertThat(http.post("/api/login", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}").status())
        .isEqualTo(200);
  }

  @Test
  void theConsoleApiChangesTheDirectoryOnlyWithTheToken() throws Exception {
    String[] admin = finishSetup();
    assertThat(http.post("/api/domains", "{\"name\":\"example.org\"}", admin[0]).status()).isEqualTo(403);
    assertThat(server.services().directory().domains()).doesNotContain("example.org");
    assertThat(http.post("/api/domains", "{\"name\":\"example.org\"}", admin).status()).isEqualTo(201);
    assertThat(http.post("/api/users", "{\"address\":\"bob@example.org\",\"password\":\"bob-secret\"}", admin)
        .status()).isEqualTo(201);
    assertThat(server.services().directory().authenticate("bob@example.org", "bob-secret".toCharArray())).isPresent();
    assertThat(http.send("DELETE /api/users/bob%40example.org HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + admin[0], null).status()).as("no token").isEqualTo(403);
    assertThat(http.send("DELETE /api/users/bob%40example.org HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + admin[0] + "\r\n" + admin[1], null).status()).isEqualTo(200);
    assertThat(server.services().directory().account("bob@example.org")).isEmpty();
  }

  @Test
  void metricsNeedAnAdmin() throws Exception {
    String[] admin = finishSetup();
    AdminHttp.Reply anonymous = http.get("/metrics");
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(anonymous.header("WWW-Authenticate")).startsWith("Basic");
    AdminHttp.Reply scraped = http.get("/metrics", admin[0]);
    assertThat(scraped.status()).isEqualTo(200);
    assertThat(scraped.body()).contains("darwinmail_");
    String basic = java.util.Base64.getEncoder().encodeToString("admin:correct horse battery".getBytes());
    assertThat(http.get("/metrics", "Authorization: Basic " + basic).status()).isEqualTo(200);
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    try (SSLSocket s = http.open()) {
      String two = "GET /api/setup/state HTTP/1.1\r\nHost: x\r\n\r\n"
          + "GET /static/nothing.css HTTP/1.1\r\nHost: x\r\n\r\n"
          + "GET /setup/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      s.getOutputStream().write(two.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(Pattern.compile("HTTP/1.1 (\\d+)").matcher(all).results().map(m -> m.group(1)).toList())
          .containsExactly("200", "404", "200");
      assertThat(all.indexOf("\"step\"")).isLessThan(all.indexOf("no such page")).isLessThan(all.indexOf("<!doctype"));
    }
  }
}
