package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.darwinmail.admin.settings.Settings;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.store.Account;
import org.darwinmail.store.Mailbox;
import org.darwinmail.testing.FakeSmtp;
import org.darwinmail.testing.Submitter;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The console's operations API on a real server and a real socket: the queue page's list and actions (hold,
 * release, retry, bounce with a DSN in the sender's mailbox, delete), the delivery trace, blocked senders unblocked
 * with their mail kept held, the dashboard's figures; every one refused without a session or a CSRF token.
 */
class ConsoleOperationsTest {
  static final String D = "example.test";
  TestServer server;
  AdminWeb web;
  AdminHttp http;
  FakeSmtp.Reservation nowhere;
  String[] session;

  @BeforeEach
  void start() throws Exception {
    // All outbound mail goes to a smarthost port where nothing listens: it stays queued, deferred.
    nowhere = new FakeSmtp.Reservation();
    var parsed = ConfigLoader.parse("""
        [guard]
        login_delay_millis = 0
        login_lock_after = 3
        [guard.send.accounts."burst@example.test"]
        burst_messages = 2
        burst_window_seconds = 600
        [delivery]
        smarthost = "127.0.0.1:%d"
        retry_seconds = [3600]
        """.formatted(nowhere.port()));
    String e = "127.0.0.1:0";
    server = TestServer.start(c -> c.withListen(new ListenConfig(e, e, e, e, e, e, e, e)).withGuard(parsed.guard())
        .withDelivery(parsed.delivery()));
    Unattended.complete(server.dataDir(), server.services().directory(),
        new Settings("mx.test", D, "ada", "mailbox-pw".toCharArray(), List.of()), "admin", null,
        "correct horse battery".toCharArray());
    server.addUser("bob@" + D, "bob-pw");
    server.addUser("burst@" + D, "burst-pw");
    web = AdminWeb.start(server.server(), new AdminWeb.Options(Duration.ofSeconds(5), Duration.ofMinutes(30),
        Duration.ofHours(12), Duration.ofMillis(10), Clock.systemUTC()));
    http = new AdminHttp(web.port());
    session = http.signIn("admin", "correct horse battery");
  }

  @AfterEach
  void stop() throws IOException {
    web.close();
    server.close();
    nowhere.close();
  }

  static JsonNode json(AdminHttp.Reply r) {
    return Response.JSON.readTree(r.body());
  }

  private JsonNode queue(String query) throws Exception {
    AdminHttp.Reply r = http.get("/api/queue" + query, session);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return json(r);
  }

  private long submitToRemote(String user, String password) throws Exception {
    try (Submitter s = new Submitter(server.port("submission"), user, password)) {
      assertThat(s.send(user, List.of("carol@remote.example"), "for the queue")).startsWith("250");
    }
    // its first attempt fails (nothing listens on the smarthost's port): deferred for an hour, with the answer
    await().atMost(Duration.ofSeconds(20)).until(() -> {
      JsonNode q = queue("?state=deferred&sender=" + user);
      return q.path("messages").size() == 1
          && !q.path("messages").get(0).path("recipients").get(0).path("lastAnswer").isNull();
    });
    return queue("?sender=" + user).path("messages").get(0).path("id").asLong();
  }

  private JsonNode act(String action, long id) throws Exception {
    AdminHttp.Reply r = http.post("/api/queue/" + action, "{\"ids\":[" + id + "]}", session);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return json(r).path("results").get(0);
  }

  @Test
  void theQueuePageHoldsReleasesRetriesAndBouncesWithADsnToTheSender() throws Exception {
    long id = submitToRemote("bob@" + D, "bob-pw");
    JsonNode rcpt = queue("?domain=remote.example").path("messages").get(0).path("recipients").get(0);
    assertThat(rcpt.path("attempts").asInt()).isEqualTo(1);
    assertThat(rcpt.path("lastAnswer").asString()).isNotBlank();
    assertThat(queue("?recipient=nobody").path("messages").size()).isZero();
    assertThat(http.get("/api/queue?state=lost", session).status()).isEqualTo(422);

    assertThat(act("hold", id).path("done").asBoolean()).isTrue();
    assertThat(queue("?state=held").path("messages").size()).isEqualTo(1);
    assertThat(act("release", id).path("recipients").asInt()).isEqualTo(1);
    // released: attempted at once, deferred again by the failing smarthost
    await().atMost(Duration.ofSeconds(20)).until(() -> queue("?state=deferred").path("messages").size() == 1);
    act("retry", id);
    await().atMost(Duration.ofSeconds(20)).until(() -> queue("?state=deferred").path("messages").get(0)
        .path("recipients").get(0).path("attempts").asInt() >= 4); // first, hold, release, retry

    // administrators' actions are written behind (TraceLog, within a quarter of a second)
    await().atMost(Duration.ofSeconds(10)).until(() -> json(http.get("/api/trace?q=carol@remote.example", session))
        .path("events").valueStream().anyMatch(e -> e.path("event").asString().equals("retried")));
    JsonNode trace = json(http.get("/api/trace?q=carol@remote.example", session));
    List<String> events = trace.path("events").valueStream().map(e -> e.path("event").asString()).toList()
        .reversed(); // the API answers newest first
    assertThat(events).containsSubsequence("queued", "deferred", "held", "released", "deferred", "retried");
    assertThat(trace.path("queued").get(0).path("messageId").asString()).contains("@");
    String messageId = trace.path("queued").get(0).path("messageId").asString();
    assertThat(json(http.get("/api/trace?q=" + java.net.URLEncoder.encode(messageId,
        java.nio.charset.StandardCharsets.UTF_8), session)).path("queued").size()).isEqualTo(1);
    assertThat(json(http.get("/api/trace?q=" + id, session)).path("events").size()).isGreaterThanOrEqualTo(6);

    assertThat(act("bounce", id).path("done").asBoolean()).isTrue();
    assertThat(queue("").path("total").asInt()).isZero();
    Account bob = server.services().directory().account("bob@" + D).orElseThrow();
    Mailbox inbox = server.services().mail().mailbox(bob.id(), "INBOX").orElseThrow();
    await().atMost(Duration.ofSeconds(10)).until(() -> server.services().mail().messages(inbox.id()).size() == 1);
    assertThat(act("delete", id).path("done").asBoolean()).as("gone already").isFalse();
  }

  @Test
  void deleteRemovesWithoutANotice() throws Exception {
    long id = submitToRemote("bob@" + D, "bob-pw");
    assertThat(act("delete", id).path("done").asBoolean()).isTrue();
    assertThat(queue("").path("total").asInt()).isZero();
    await().atMost(Duration.ofSeconds(10)).until(() -> json(http.get("/api/trace?q=" + id, session))
        .path("events").valueStream().map(e -> e.path("event").asString()).toList().contains("deleted"));
  }

  @Test
  void aBlockedSenderIsListedWithItsHeldMailAndUnblockedKeepingItHeld() throws Exception {
    long id = submitToRemote("burst@" + D, "burst-pw");
    try (Submitter s = new Submitter(server.port("submission"), "burst@" + D, "burst-pw")) {
      assertThat(s.send("burst@" + D, List.of("dave@remote.example"), "burst 1")).startsWith("250");
      // both attempted once (no attempt in flight when the block holds them)
      await().atMost(Duration.ofSeconds(20)).until(() -> queue("?state=deferred").path("matched").asInt() == 2);
      assertThat(s.send("burst@" + D, List.of("dave@remote.example"), "burst 2")).startsWith("550");
    }
    JsonNode senders = json(http.get("/api/senders", session));
    JsonNode block = senders.path("blocked").get(0);
    assertThat(block.path("account").asString()).isEqualTo("burst@" + D);
    assertThat(block.path("reason").asString()).startsWith("burst");
    assertThat(block.path("held").valueStream().map(h -> h.path("id").asLong()).toList()).contains(id);
    // its mail cannot be released from the queue page while it is blocked
    assertThat(act("release", id).path("done").asBoolean()).isFalse();

    AdminHttp.Reply r = http.post("/api/senders/unblock", "{\"account\":\"burst@" + D + "\",\"held\":\"keep\"}",
        session);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(json(http.get("/api/senders", session)).path("blocked").size()).isZero();
    assertThat(queue("?state=held&sender=burst@").path("matched").asInt()).isEqualTo(2);
    assertThat(http.post("/api/senders/unblock", "{\"account\":\"burst@" + D + "\"}", session).status())
        .isEqualTo(404);
  }

  @Test
  void aLockedOutLoginIsListedAndUnlockedFromTheConsole() throws Exception {
    String wrong = "{\"name\":\"admin\",\"password\":\"not the password\"}";
    for (int i = 0; i < 3; i++) {
      assertThat(http.post("/api/login", wrong).status()).isEqualTo(401);
    }
    String right = "{\"name\":\"admin\",\"password\":\"correct horse battery\"}";
    assertThat(http.post("/api/login", right).status()).as("locked").isEqualTo(429);
    JsonNode lock = json(http.get("/api/senders", session)).path("lockouts").valueStream()
        .filter(l -> l.path("kind").asString().equals("account from address")).findFirst().orElseThrow();
    assertThat(lock.path("address").asString()).isEqualTo("127.0.0.1");
    assertThat(lock.path("failures").asInt()).isEqualTo(3);
    AdminHttp.Reply r = http.post("/api/lockouts/unlock", "{\"key\":\"" + lock.path("key").asString() + "\"}",
        session);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(http.post("/api/login", right).status()).isEqualTo(200);
  }

  @Test
  void theDashboardShowsListenersQueueAndTheDaysMail() throws Exception {
    submitToRemote("bob@" + D, "bob-pw");
    JsonNode d = json(http.get("/api/dashboard", session));
    assertThat(d.path("listeners").valueStream().filter(l -> l.path("name").asString().equals("smtp")).findFirst()
        .orElseThrow().path("port").asInt()).isEqualTo(server.port("smtp"));
    assertThat(d.path("queueRecipients").asLong()).isEqualTo(1);
    assertThat(d.path("certificate").path("daysLeft").asLong()).isPositive();
    assertThat(d.path("disk").path("totalBytes").asLong()).isPositive();
    assertThat(d.path("users").path("count").asInt()).isEqualTo(3);
    // the MTA-STS card: nothing cached or counted here yet
    assertThat(d.path("mtaSts").path("policies").asInt()).isZero();
    assertThat(d.path("mtaSts").path("failed").asLong()).isZero();
    assertThat(d.path("mtaSts").path("day").asString())
        .isEqualTo(java.time.LocalDate.now(java.time.ZoneOffset.UTC).minusDays(1).toString());
    assertThat(d.path("history").path("current").path("in").asLong()).isPositive();
  }

  @Test
  void everyOperationNeedsASessionAndItsCsrfToken() throws Exception {
    for (String p : List.of("/api/dashboard", "/api/queue", "/api/senders", "/api/trace?q=1")) {
      assertThat(http.get(p).status()).as(p).isEqualTo(401);
    }
    String cookieOnly = session[0];
    for (String p : List.of("/api/queue/delete", "/api/senders/unblock", "/api/lockouts/unlock")) {
      assertThat(http.post(p, "{\"ids\":[1]}").status()).as(p).isEqualTo(401);
      assertThat(http.post(p, "{\"ids\":[1]}", cookieOnly).status()).as(p).isEqualTo(403);
      assertThat(http.post(p, "{\"ids\":[1]}", session[0], session[1], "Origin: https://evil.example").status())
          .as(p).isEqualTo(403);
    }
    assertThat(http.post("/api/queue/explode", "{\"ids\":[1]}", session).status()).isEqualTo(404);
    assertThat(http.post("/api/queue/hold", "{\"ids\":[\"x\"]}", session).status()).isEqualTo(422);
  }
}
