package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.darwinmail.testing.Submitter;
import org.darwinmail.cli.Cli;
import org.darwinmail.cli.Main;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.testing.FakeSmtp;
import org.darwinmail.testing.TestDns;
import java.time.Instant;
import org.darwinmail.store.Account;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The burst (issue 6): a compromised account submits 2,000 messages as fast as it can over a real socket; it is
 * blocked at the threshold, nothing beyond it is delivered, the postmaster is told, the block survives a restart
 * and {@code sender unblock} lifts it; another account keeps sending throughout.
 */
class SendBurstTest {
  static final int BURST = 20;
  static final int ATTEMPTS = 2000;
  static final String D = "burst.test";
  TestServer server;
  TestDns dns;
  FakeSmtp.Reservation remotePort;

  @BeforeEach
  void start() throws IOException {
    // remote.test's MX is 127.0.0.1 on a port held for it where nothing listens yet: its mail stays queued.
    remotePort = new FakeSmtp.Reservation();
    dns = new TestDns().mx("remote.test", 10, "mx.remote.test").a("mx.remote.test", "127.0.0.1");
    var parsed = ConfigLoader.parse("""
        [guard.send]
        messages_per_minute = 0
        messages_per_hour = 0
        burst_messages = %d
        burst_window_seconds = 600
        [delivery]
        port = %d
        """.formatted(BURST, remotePort.port()));
    server = TestServer.start(c -> c.withGuard(parsed.guard()).withDelivery(parsed.delivery())
        .withDns(new DnsConfig(List.of(dns.address()), 2)));
    server.addUser("mallory@" + D, "mallory-pw");
    server.addUser("alice@" + D, "alice-pw");
    server.addUser("bob@" + D, "bob-pw");
    server.addUser("postmaster@" + D, "pm-pw");
  }

  @AfterEach
  void stop() throws IOException {
    server.close();
    dns.close();
    remotePort.close();
  }

  @Test
  void aBurstBlocksTheAccountAndNothingBeyondTheThresholdIsDelivered() throws Exception {
    AtomicBoolean burstOver = new AtomicBoolean();
    // Another account keeps sending, at a human pace, throughout the burst.
    CompletableFuture<List<String>> alice = CompletableFuture.supplyAsync(() -> {
      try (Submitter s = new Submitter(server.port("submission"), "alice@" + D, "alice-pw")) {
        List<String> replies = new java.util.ArrayList<>();
        for (int i = 0; i < 8 && (i < 3 || !burstOver.get()); i++) {
          replies.add(s.send("alice@" + D, List.of("bob@" + D), "alice " + i));
          Thread.sleep(20);
        }
        return replies;
      } catch (IOException | InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });

    int accepted = 0;
    String firstRefusal = null;
    int refused = 0;
    try (Submitter s = new Submitter(server.port("submission"), "mallory@" + D, "mallory-pw")) {
      for (int i = 0; i < ATTEMPTS; i++) {
        String r = s.send("mallory@" + D, List.of("bob@" + D, "victim@remote.test"), "spam " + i);
        if (r.startsWith("250")) {
          accepted++;
        } else {
          refused++;
          firstRefusal = firstRefusal == null ? r : firstRefusal;
        }
      }
    }
    burstOver.set(true);

    assertThat(accepted).isEqualTo(BURST);
    assertThat(refused).isEqualTo(ATTEMPTS - BURST);
    assertThat(firstRefusal).startsWith("550 5.7.1 ").contains("blocked");
    assertThat(alice.get()).isNotEmpty().allMatch(r -> r.startsWith("250 "));

    // Nothing beyond the threshold reached bob.
    assertThat(subjects("bob@" + D).stream().filter(s -> s.startsWith("spam"))).hasSize(BURST);
    // Its copies for remote.test are held in the queue: those being attempted when the block fell are held at
    // their next turn (made due now here, as time would).
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> {
      if (allHeld(queuedFrom("mallory@" + D))) {
        return true;
      }
      server.server().delivery().queue().retryNow(List.of());
      server.server().delivery().wake();
      return false;
    });
    assertThat(queuedFrom("mallory@" + D)).hasSize(BURST);
    // The postmaster is told, with the figures.
    await().atMost(Duration.ofSeconds(10)).until(() -> !subjects("postmaster@" + D).isEmpty());
    assertThat(subjects("postmaster@" + D)).containsExactly("Sending blocked for mallory@" + D);
    assertThat(body("postmaster@" + D)).contains("burst: " + BURST + " messages").contains("darwinmail sender unblock mallory@" + D);

    // The administrator sees the block ...
    String[] list = Main.run(Cli.inside(server.server()), "", "sender", "blocked");
    assertThat(list[0]).isEqualTo("0");
    assertThat(list[1]).startsWith("mallory@" + D + "\t").contains("burst: " + BURST + " messages");

    // ... which survives a restart, and so does the hold on its queued mail.
    server.restart();
    assertThat(server.services().guard().sends().held("mallory@" + D)).isTrue();
    assertThat(queuedFrom("mallory@" + D)).hasSize(BURST);
    assertThat(allHeld(queuedFrom("mallory@" + D))).isTrue();
    try (Submitter s = new Submitter(server.port("submission"), "mallory@" + D, "mallory-pw")) {
      assertThat(s.send("mallory@" + D, List.of("bob@" + D), "after restart")).startsWith("550 5.7.1 ");
    }

    // Unblocking releases the held mail (remote.test now answers) and lets the account send again; a second
    // unblock says there is nothing to lift.
    try (FakeSmtp remote = new FakeSmtp(remotePort)) {
      String[] un = Main.run(Cli.inside(server.server()), "", "sender", "unblock", "mallory@" + D);
      assertThat(un[0]).isEqualTo("0");
      assertThat(un[1]).contains("mallory@" + D + " unblocked; " + BURST + " held message(s) released");
      await().atMost(Duration.ofSeconds(30)).until(() -> remote.subjects.size() >= BURST);
      assertThat(remote.subjects).hasSize(BURST).allMatch(sub -> sub.startsWith("spam "));
      // The queue entry goes once the remote's 250 has been handled: a moment after the sink saw the message.
      await().atMost(Duration.ofSeconds(30)).until(() -> queuedFrom("mallory@" + D).isEmpty());
    }
    try (Submitter s = new Submitter(server.port("submission"), "mallory@" + D, "mallory-pw")) {
      assertThat(s.send("mallory@" + D, List.of("bob@" + D), "welcome back")).startsWith("250 ");
    }
    assertThat(Main.run(Cli.inside(server.server()), "", "sender", "blocked")[1]).isEmpty();
    String[] again = Main.run(Cli.inside(server.server()), "", "sender", "unblock", "mallory@" + D);
    assertThat(again[0]).isEqualTo("1");
    assertThat(again[2]).contains("is not blocked");
  }

  private static boolean allHeld(List<Instant> next) {
    Instant far = Instant.now().plus(Duration.ofDays(365));
    return next.size() == BURST && next.stream().allMatch(t -> t.isAfter(far));
  }

  /** The next attempt of each recipient queued by {@code account}. */
  private List<Instant> queuedFrom(String account) {
    List<Instant> out = new java.util.ArrayList<>();
    server.server().delivery().queue().list().forEach((e, rcpts) -> {
      if (account.equals(e.account())) {
        rcpts.forEach(r -> out.add(r.nextAttempt()));
      }
    });
    return out;
  }

  private List<MessageRow> inbox(String address) {
    var s = server.services();
    Account a = s.directory().account(address).orElseThrow();
    Mailbox m = s.mail().mailbox(a.id(), Mailbox.INBOX).orElseThrow();
    return s.mail().messages(m.id());
  }

  private List<String> subjects(String address) throws IOException {
    List<String> out = new java.util.ArrayList<>();
    for (MessageRow r : inbox(address)) {
      for (String line : text(r).split("\r\n")) {
        if (line.startsWith("Subject: ")) {
          out.add(line.substring(9));
          break;
        }
      }
    }
    return out;
  }

  private String body(String address) throws IOException {
    return text(inbox(address).getFirst());
  }

  private String text(MessageRow r) throws IOException {
    try (InputStream in = server.services().mail().open(r)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
