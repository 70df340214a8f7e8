package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.darwinmail.admin.settings.Settings;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.store.MtaStsRepository;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The console's read-only MTA-STS view on a real server over HTTPS: GET /api/mta-sts gives the policies cached for
 * recipient domains (the store's, as delivery left them) and the last 7 days' TLS report counts; a stranger is
 * refused; the page is served under the strict CSP with its script as a module file.
 */
class ConsoleMtaStsTest {
  TestServer server;
  AdminWeb web;
  AdminHttp http;
  String[] session;

  void start() throws Exception {
    String e = "127.0.0.1:0";
    server = TestServer.start(c -> c.withListen(new ListenConfig(e, e, e, e, e, e, e, e)));
    Unattended.complete(server.dataDir(), server.services().directory(),
        new Settings("mail.example.test", "example.test", "ada", "mailbox-pw".toCharArray(), List.of()), "admin",
        null, "correct horse battery".toCharArray());
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
  }

  JsonNode get(String path) throws Exception {
    AdminHttp.Reply r = http.get(path, session);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return Response.JSON.readTree(r.body());
  }

  @Test
  void thePoliciesCachedAndTheLastWeeksCountsAreListed() throws Exception {
    start();
    JsonNode empty = get("/api/mta-sts");
    assertThat(empty.path("policies").size()).isZero();
    assertThat(empty.path("counts").size()).isZero();
    assertThat(empty.path("days").asInt()).isEqualTo(7);
    assertThat(empty.path("reports").size()).isZero();

    MtaStsRepository repo = server.server().delivery().mtaSts();
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    repo.save(new MtaStsRepository.Stored("remote.test", "20261102", "enforce",
        List.of("mx.remote.test", "*.backup.remote.test"), 86400, now, now.plusSeconds(86400)));
    repo.save(new MtaStsRepository.Stored("old.test", "1", "testing", List.of("<b>mx</b>.old.test"), 60,
        now.minusSeconds(120), now.minusSeconds(60)));
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    repo.count(today, "remote.test", "success", 3);
    repo.count(today, "remote.test", "certificate-host-mismatch", 1);
    repo.count(today.minusDays(6), "old.test", "success", 2);
    repo.count(today.minusDays(7), "old.test", "success", 5);

    JsonNode m = get("/api/mta-sts");
    assertThat(m.path("since").asString()).isEqualTo(today.minusDays(6).toString());
    JsonNode policies = m.path("policies");
    assertThat(policies.size()).isEqualTo(2);
    JsonNode remote = null;
    JsonNode old = null;
    for (JsonNode p : policies) {
      if (p.path("domain").asString().equals("remote.test")) {
        remote = p;
      } else {
        old = p;
      }
    }
    assertThat(remote).isNotNull();
    assertThat(remote.path("mode").asString()).isEqualTo("enforce");
    assertThat(remote.path("id").asString()).isEqualTo("20261102");
    assertThat(remote.path("mx").toString()).isEqualTo("[\"mx.remote.test\",\"*.backup.remote.test\"]");
    assertThat(remote.path("expires").asString()).isEqualTo(now.plusSeconds(86400).toString());
    assertThat(remote.path("expired").asBoolean()).isFalse();
    assertThat(old.path("domain").asString()).isEqualTo("old.test");
    assertThat(old.path("mode").asString()).isEqualTo("testing");
    assertThat(old.path("expired").asBoolean()).as("kept, past its expiry").isTrue();
    assertThat(old.path("mx").get(0).asString()).as("stored text, given back as data").isEqualTo("<b>mx</b>.old.test");

    // 7 days, today included: the count of 7 days ago is not in it
    List<String> rows = new java.util.ArrayList<>();
    m.path("counts").forEach(c -> rows.add(c.path("day").asString() + " " + c.path("domain").asString() + " "
        + c.path("result").asString() + " " + c.path("sessions").asLong()));
    assertThat(rows).containsExactlyInAnyOrder(today.minusDays(6) + " old.test success 2",
        today + " remote.test certificate-host-mismatch 1", today + " remote.test success 3");

    // the TLS reports (V017): where each went and how, or why not
    repo.claimReport(today.minusDays(1), "remote.test", "r1@a.test", now, "node");
    repo.reportDone(today.minusDays(1), "remote.test", "mailto:tlsrpt@remote.test", "mailto:tlsrpt@remote.test queued");
    JsonNode rep = get("/api/mta-sts").path("reports");
    assertThat(rep.size()).isEqualTo(1);
    assertThat(rep.get(0).path("day").asString()).isEqualTo(today.minusDays(1).toString());
    assertThat(rep.get(0).path("domain").asString()).isEqualTo("remote.test");
    assertThat(rep.get(0).path("reportId").asString()).isEqualTo("r1@a.test");
    assertThat(rep.get(0).path("destinations").asString()).isEqualTo("mailto:tlsrpt@remote.test");
    assertThat(rep.get(0).path("result").asString()).isEqualTo("mailto:tlsrpt@remote.test queued");
  }

  @Test
  void aStrangerIsRefusedAndThePageIsServedUnderTheStrictPolicy() throws Exception {
    start();
    AdminHttp.Reply r = http.get("/api/mta-sts");
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.body()).doesNotContain("policies");
    assertThat(http.post("/api/mta-sts", "{}", session).status()).as("read-only").isEqualTo(404);
    AdminHttp.Reply page = http.get("/console/mta-sts");
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.header("Content-Security-Policy")).contains("script-src 'self'");
    assertThat(page.body()).contains("<script type=\"module\" src=\"/static/mta-sts.js\"></script>")
        .doesNotContain("<nav").doesNotContain("<header");
    AdminHttp.Reply js = http.get("/static/mta-sts.js");
    assertThat(js.status()).isEqualTo(200);
    assertThat(js.body()).contains("textContent").doesNotContain("innerHTML");
  }
}
