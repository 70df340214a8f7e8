package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.darwinmail.config.DeliveryConfig;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.dns.Dns;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.QueueRepository;
import org.darwinmail.testing.FakeSmtp;
import org.darwinmail.testing.Submitter;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Outbound delivery end to end inside the JVM: Darwin Mail "A" (a.test) submits, looks the recipients' MX up in a
 * DNS server on loopback, and delivers over SMTP to Darwin Mail "B" (b.test and others) or to scripted peers. All
 * remote hosts listen on the same port P on different loopback addresses (127.0.0.1 is B; 127.0.0.2-5 come and
 * go), because the MX port is one setting.
 */
class OutboundDeliveryTest {
  static TestDns dns;
  static TestServer b;
  static TestServer a;
  static int port;

  @BeforeAll
  static void start() {
    dns = new TestDns();
    b = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2)));
    port = b.port("smtp");
    b.addUser("bob@b.test", "bob-pw");
    a = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withDelivery(DeliveryConfig.defaults().withPort(port).withRetry(List.of(1), 3600, 0)));
    a.addUser("alice@a.test", "alice-pw");
    dns.mx("b.test", 10, "mx.b.test").a("mx.b.test", "127.0.0.1");
  }

  @AfterAll
  static void stop() {
    a.close();
    b.close();
    dns.close();
  }

  static String submit(TestServer from, String sender, List<String> to, String params, String subject)
      throws IOException {
    String msg = "From: Alice <" + sender + ">\nTo: <" + to.getFirst() + ">\nSubject: " + subject
        + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello,  this is   " + subject
        + ".\n.leading dot\n\n\n";
    return Submitter.submit(from.port("submission"), sender, "alice-pw", sender, to, params, msg);
  }

  /** The messages in an account's INBOX, as text. */
  static List<String> inbox(TestServer s, String address) {
    return inbox(s.services(), address);
  }

  static List<String> inbox(org.darwinmail.DarwinMail.Services s, String address) {
    var acct = s.directory().account(address).orElseThrow();
    var box = s.mail().mailbox(acct.id(), Mailbox.INBOX);
    List<String> out = new ArrayList<>();
    if (box.isEmpty()) {
      return out;
    }
    for (MessageRow m : s.mail().messages(box.get().id())) {
      try (InputStream in = s.mail().open(m)) {
        out.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
    return out;
  }

  static List<String> withSubject(TestServer s, String address, String subject) {
    return inbox(s, address).stream().filter(m -> m.contains(subject)).toList();
  }

  /**
   * A peer Darwin Mail that will listen on {@code ip}:P, its domain and accounts created first with no listener
   * (so there is no moment where it answers "no such user").
   */
  static org.darwinmail.config.ServerConfig peer(String ip, String domain, String... users) throws IOException {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("darwinmail-peer");
    var setup = org.darwinmail.config.ServerConfig.defaults(dir.resolve("var")).withHostname("mx." + domain)
        .withListen(new ListenConfig("", "", "", "", "", "", "", ""));
    try (var p = org.darwinmail.DarwinMail.start(TestServer.prepare(setup))) {
      p.services().directory().addDomain(domain);
      for (String u : users) {
        p.services().directory().addAccount(u, "pw".toCharArray());
      }
    }
    return setup.withListen(new ListenConfig(ip + ":" + port, "", "", "", "", "", "", ""));
  }

  static List<QueueRepository.Rcpt> queued(TestServer s) {
    return s.server().delivery().queue().list().values().stream().flatMap(List::stream).toList();
  }

  static void awaitDelivered(TestServer s, String address, String subject) {
    await().atMost(Duration.ofSeconds(60)).until(() -> withSubject(s, address, subject).size() == 1);
  }

  @Test
  void deliversToAnotherServerThroughItsMxAndSignsWithDkim() throws Exception {
    assertThat(submit(a, "alice@a.test", List.of("bob@b.test"), "", "first contact")).startsWith("250");
    awaitDelivered(b, "bob@b.test", "first contact");
    String got = withSubject(b, "bob@b.test", "first contact").getFirst();
    assertThat(got).contains("by mx.test (Darwin Mail)").contains("DKIM-Signature:").contains("d=a.test")
        .contains("\r\n.leading dot\r\n");

    // An independent verifier (Apache jDKIM) with the key published in DNS, looked up through the test server.
    dns.txt("darwin._domainkey.a.test", a.server().delivery().dkim().publicRecord("a.test"));
    assertThat(got).contains("a=ed25519-sha256").contains("s=darwin-ed");
    Dns resolver = new Dns(new DnsConfig(List.of(dns.address()), 2));
    DKIMVerifier verifier = new DKIMVerifier((method, selector, token) -> {
      if (resolver.txt(selector + "._domainkey." + token) instanceof Dns.Answer.Found<String> f) {
        return f.values();
      }
      throw new PermFailException("no key");
    });
    List<SignatureRecord> ok = verifier.verify(new java.io.ByteArrayInputStream(got.getBytes(StandardCharsets.UTF_8)));
    assertThat(ok).hasSize(1);
    assertThat(ok.getFirst().getDToken().toString()).isEqualTo("a.test");

    // A tampered body fails verification.
    String tampered = got.replace("this is", "this was");
    assertThat(new DKIMVerifier((m, sel, t) -> resolver.txt(sel + "._domainkey." + t) instanceof Dns.Answer.Found<String> f
        ? f.values() : List.of()).hasAnyValidSignature()).isFalse();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> verifier.verify(
        new java.io.ByteArrayInputStream(tampered.getBytes(StandardCharsets.UTF_8)))).isInstanceOf(Exception.class);
    await().atMost(Duration.ofSeconds(30)).until(() -> queued(a).isEmpty());
  }

  @Test
  void theLocalCopyOfAMessageAlsoRelayedHasReturnPathAndTheRelayedCopyNone() throws Exception {
    assertThat(submit(a, "alice@a.test", List.of("bob@b.test", "alice@a.test"), "", "mixed copy")).startsWith("250");
    awaitDelivered(b, "bob@b.test", "mixed copy");
    // b adds its own at its final delivery; a sent none (RFC 5321 §4.4)
    String relayed = withSubject(b, "bob@b.test", "mixed copy").getFirst();
    assertThat(relayed).startsWith("Return-Path: <alice@a.test>\r\nReceived: ");
    assertThat(relayed.split("Return-Path:", -1)).hasSize(2);
    String local = withSubject(a, "alice@a.test", "mixed copy").getFirst();
    assertThat(local).startsWith("Return-Path: <alice@a.test>\r\nReceived: ");
    assertThat(local.split("Return-Path:", -1)).hasSize(2);
  }

  @Test
  void permanentRefusalBouncesToTheSenderWithTheRemoteReason() throws Exception {
    assertThat(submit(a, "alice@a.test", List.of("nobody@b.test"), "", "to nobody")).startsWith("250");
    await().atMost(Duration.ofSeconds(60)).until(() -> withSubject(a, "alice@a.test", "Undelivered Mail").stream()
        .anyMatch(m -> m.contains("nobody@b.test")));
    String dsn = withSubject(a, "alice@a.test", "Undelivered Mail").stream()
        .filter(m -> m.contains("nobody@b.test")).findFirst().orElseThrow();
    assertThat(dsn).startsWith("Return-Path: <>\r\n") // RFC 5321 §4.4: a bounce's null sender
        .contains("multipart/report; report-type=delivery-status")
        .contains("Content-Type: message/delivery-status")
        .contains("Final-Recipient: rfc822; nobody@b.test")
        .contains("Action: failed")
        .contains("Status: 5.1.1")
        .contains("Diagnostic-Code: smtp; 550 5.1.1 No such user here")
        .contains("Remote-MTA: dns; mx.b.test [127.0.0.1]")
        .contains("Subject: to nobody");
  }

  @Test
  void nullMxBouncesAtOnce() throws Exception {
    dns.nullMx("nomail.test");
    assertThat(submit(a, "alice@a.test", List.of("x@nomail.test"), "", "to null mx")).startsWith("250");
    await().atMost(Duration.ofSeconds(60)).until(() -> inbox(a, "alice@a.test").stream()
        .anyMatch(m -> m.contains("x@nomail.test") && m.contains("Status: 5.1.10")));
  }

  @Test
  void servfailIsTemporaryAndDeliveredOnceDnsRecovers() throws Exception {
    dns.servfail("broken.test");
    b.addUser("x@broken.test", "pw");
    assertThat(submit(a, "alice@a.test", List.of("x@broken.test"), "", "through broken dns")).startsWith("250");
    await().atMost(Duration.ofSeconds(60)).until(() -> queued(a).stream()
        .anyMatch(r -> r.recipient().equals("x@broken.test") && r.attempts() >= 1
            && r.lastError() != null && r.lastError().contains("SERVFAIL")));
    assertThat(inbox(a, "alice@a.test")).noneMatch(m -> m.contains("x@broken.test"));
    dns.clear("broken.test");
    dns.mx("broken.test", 10, "mx.b.test");
    awaitDelivered(b, "x@broken.test", "through broken dns");
  }

  @Test
  void remoteDownThenUpIsRetriedAndDelivered() throws Exception {
    var peerConfig = peer("127.0.0.2", "down.test", "carol@down.test");
    dns.mx("down.test", 10, "mx.down.test").a("mx.down.test", "127.0.0.2");
    assertThat(submit(a, "alice@a.test", List.of("carol@down.test"), "", "while down")).startsWith("250");
    await().atMost(Duration.ofSeconds(60)).until(() -> queued(a).stream()
        .anyMatch(r -> r.recipient().equals("carol@down.test") && r.attempts() >= 1
            && r.lastError().contains("connection refused")));
    try (var peer = org.darwinmail.DarwinMail.start(peerConfig)) {
      await().atMost(Duration.ofSeconds(60)).until(() -> inbox(peer.services(), "carol@down.test").stream()
          .anyMatch(m -> m.contains("Subject: while down")));
      await().atMost(Duration.ofSeconds(30)).until(() -> queued(a).stream()
          .noneMatch(r -> r.recipient().equals("carol@down.test")));
      assertThat(inbox(peer.services(), "carol@down.test")).filteredOn(m -> m.contains("Subject: while down"))
          .hasSize(1);
    }
  }

  @Test
  void temporaryRefusalThenAcceptance() throws Exception {
    dns.mx("flaky.test", 10, "mx.flaky.test").a("mx.flaky.test", "127.0.0.3");
    try (FakeSmtp peer = new FakeSmtp("127.0.0.3", port, true,
        n -> n == 1 ? "451 4.3.0 try again later" : "250 2.1.5 ok")) {
      assertThat(submit(a, "alice@a.test", List.of("dan@flaky.test"), "", "flaky")).startsWith("250");
      await().atMost(Duration.ofSeconds(60)).until(() -> peer.messages.size() == 1);
      assertThat(peer.transactions.get()).isGreaterThanOrEqualTo(2);
      await().atMost(Duration.ofSeconds(30)).until(() -> queued(a).stream()
          .noneMatch(r -> r.recipient().equals("dan@flaky.test")));
      assertThat(peer.messages).hasSize(1);
      assertThat(peer.messages.getFirst()).contains("Subject: flaky");
    }
  }

  @Test
  void aBrokenStartTlsFallsBackToClearText() throws Exception {
    dns.mx("badtls.test", 10, "mx.badtls.test").a("mx.badtls.test", "127.0.0.9");
    try (FakeSmtp peer = new FakeSmtp("127.0.0.9", port, true, n -> "250 2.1.5 ok")) {
      peer.brokenTls = true;
      assertThat(submit(a, "alice@a.test", List.of("eve@badtls.test"), "", "tls broken")).startsWith("250");
      await().atMost(Duration.ofSeconds(60)).until(() -> peer.messages.size() == 1);
      assertThat(peer.startTlsAttempts.get()).isEqualTo(1);
      assertThat(peer.messages.getFirst()).contains("Subject: tls broken");
    }
  }

  @Test
  void smtputf8MessageToAServerWithoutItBouncesWithAClearReason() throws Exception {
    dns.mx("old.test", 10, "mx.old.test").a("mx.old.test", "127.0.0.4");
    try (FakeSmtp peer = new FakeSmtp("127.0.0.4", port, false, n -> "250 2.1.5 ok")) {
      assertThat(submit(a, "alice@a.test", List.of("émile@old.test"), "SMTPUTF8", "utf8 mail")).startsWith("250");
      await().atMost(Duration.ofSeconds(60)).until(() -> inbox(a, "alice@a.test").stream()
          .anyMatch(m -> m.contains("émile@old.test") && m.contains("does not support SMTPUTF8")));
      assertThat(peer.messages).isEmpty();
    }
  }

  @Test
  void oneMessageToFiftyRecipientsAcrossFiveDomains() throws Exception {
    List<String> to = new ArrayList<>();
    for (int d = 1; d <= 5; d++) {
      dns.mx("d" + d + ".test", 10, "mx.many.test");
      for (int u = 1; u <= 10; u++) {
        to.add("u" + u + "@d" + d + ".test");
      }
    }
    dns.a("mx.many.test", "127.0.0.7");
    try (FakeSmtp peer = new FakeSmtp("127.0.0.7", port, true, n -> "250 2.1.5 ok")) {
      assertThat(submit(a, "alice@a.test", to, "", "fifty")).startsWith("250");
      await().atMost(Duration.ofSeconds(60)).until(() -> peer.deliveries.stream().mapToInt(List::size).sum() == 50);
      await().atMost(Duration.ofSeconds(30)).until(() -> queued(a).stream()
          .noneMatch(r -> r.recipient().contains(".test") && r.recipient().matches("u\\d+@d\\d\\.test")));
      // One transaction per destination domain, each with that domain's ten recipients, each exactly once.
      assertThat(peer.deliveries).hasSize(5);
      for (List<String> rcpts : peer.deliveries) {
        assertThat(rcpts).hasSize(10);
        assertThat(rcpts.stream().map(r -> r.substring(r.indexOf('@'))).distinct()).hasSize(1);
      }
      assertThat(peer.deliveries.stream().flatMap(List::stream)).containsExactlyInAnyOrderElementsOf(to);
      assertThat(peer.messages).allMatch(m -> m.contains("Subject: fifty"));
    }
  }

  /** A server delivering one message at a time to each destination, retrying after {@code retry} seconds. */
  static TestServer oneAtATime(int retry) {
    return TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withDelivery(DeliveryConfig.defaults().withPort(port).withRetry(List.of(retry), 2L * retry + 3600, 0)
            .withConcurrency(20, 1)));
  }

  /**
   * Submits one message to each of r1..rN@domain while the peer holds the first at its end, then lets the peer go
   * and waits until the queue is empty; returns the recipients.
   */
  static List<String> backlog(TestServer s, FakeSmtp peer, String sender, String domain, int n) throws Exception {
    peer.gated = true;
    List<String> to = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      to.add("r" + i + "@" + domain);
      assertThat(submit(s, sender, List.of(to.getLast()), "", domain + " " + i)).startsWith("250");
    }
    peer.gate.countDown();
    await().atMost(Duration.ofSeconds(60)).until(() -> queued(s).isEmpty());
    return to;
  }

  /**
   * A backlog to one destination goes over one connection (one delivery at a time to it here): the first message
   * is held at the peer until all are queued, then every other one follows on the same connection.
   */
  @Test
  void aBacklogToOneDestinationSharesOneConnection() throws Exception {
    try (TestServer s = oneAtATime(1); FakeSmtp peer = new FakeSmtp("127.0.0.8", port, true, n -> "250 2.1.5 ok")) {
      s.addUser("alice@reuse.test", "alice-pw");
      dns.mx("backlog.test", 10, "mx.backlog.test").a("mx.backlog.test", "127.0.0.8");
      List<String> to = backlog(s, peer, "alice@reuse.test", "backlog.test", 12);
      assertThat(peer.deliveries).hasSize(12);
      assertThat(peer.deliveries.stream().flatMap(List::stream)).containsExactlyInAnyOrderElementsOf(to);
      assertThat(peer.connections.get()).isEqualTo(1);
    }
  }

  /** A peer that closes the connection after each message: the next one goes over a new connection, once. */
  @Test
  void aPeerClosingBetweenMessagesCostsANewConnectionNotAMessage() throws Exception {
    try (TestServer s = oneAtATime(1); FakeSmtp peer = new FakeSmtp("127.0.0.9", port, true, n -> "250 2.1.5 ok")) {
      s.addUser("alice@drop.test", "alice-pw");
      dns.mx("drops.test", 10, "mx.drops.test").a("mx.drops.test", "127.0.0.9");
      peer.dropAfterMessage = true;
      List<String> to = backlog(s, peer, "alice@drop.test", "drops.test", 5);
      assertThat(peer.deliveries.stream().flatMap(List::stream)).containsExactlyInAnyOrderElementsOf(to);
      assertThat(peer.connections.get()).isEqualTo(5);
    }
  }

  /**
   * A peer that takes two messages per connection and answers the third MAIL with 421: the rest go over new
   * connections at once, not an hour later (the retry here), and each exactly once.
   */
  @Test
  void aPeerLimitingMessagesPerConnectionGetsANewConnectionNotADeferral() throws Exception {
    try (TestServer s = oneAtATime(3600);
        FakeSmtp peer = new FakeSmtp("127.0.0.10", port, true, n -> "250 2.1.5 ok")) {
      s.addUser("alice@limit.test", "alice-pw");
      dns.mx("limited.test", 10, "mx.limited.test").a("mx.limited.test", "127.0.0.10");
      peer.messagesPerConnection = 2;
      List<String> to = backlog(s, peer, "alice@limit.test", "limited.test", 6);
      assertThat(peer.deliveries.stream().flatMap(List::stream)).containsExactlyInAnyOrderElementsOf(to);
      assertThat(peer.connections.get()).isEqualTo(3);
    }
  }

  @Test
  void restartInTheMiddleOfTheQueueLosesNothingAndDoublesNothing() throws Exception {
    try (TestServer s = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withDelivery(DeliveryConfig.defaults().withPort(port).withRetry(List.of(1), 3600, 0)))) {
      s.addUser("alice@r.test", "alice-pw");
      dns.mx("later.test", 10, "mx.later.test").a("mx.later.test", "127.0.0.5");
      List<String> to = List.of("p1@later.test", "p2@later.test", "bob@b.test");
      assertThat(submit(s, "alice@r.test", to, "", "across a restart")).startsWith("250");
      awaitDelivered(b, "bob@b.test", "across a restart");
      s.restart();
      assertThat(queued(s)).extracting(QueueRepository.Rcpt::recipient)
          .containsExactlyInAnyOrder("p1@later.test", "p2@later.test");
      var laterConfig = peer("127.0.0.5", "later.test", "p1@later.test", "p2@later.test");
      try (var later = org.darwinmail.DarwinMail.start(laterConfig)) {
        s.server().delivery().queue().retryNow(List.of());
        s.server().delivery().wake();
        await().atMost(Duration.ofSeconds(60)).until(() -> queued(s).isEmpty());
        for (String r : List.of("p1@later.test", "p2@later.test")) {
          assertThat(inbox(later.services(), r)).filteredOn(m -> m.contains("Subject: across a restart")).hasSize(1);
        }
      }
      assertThat(withSubject(b, "bob@b.test", "across a restart")).hasSize(1);
    }
  }

  @Test
  void delayWarningThenFailureAfterTheLifetime() throws Exception {
    try (TestServer s = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withDelivery(DeliveryConfig.defaults().withPort(port).withRetry(List.of(1), 4, 1)))) {
      s.addUser("alice@e.test", "alice-pw");
      dns.mx("gone.test", 10, "mx.gone.test").a("mx.gone.test", "127.0.0.6");
      assertThat(submit(s, "alice@e.test", List.of("z@gone.test"), "", "never arrives")).startsWith("250");
      await().atMost(Duration.ofSeconds(60)).until(() -> inbox(s, "alice@e.test").stream()
          .anyMatch(m -> m.contains("Action: failed")));
      List<String> box = inbox(s, "alice@e.test");
      assertThat(box).anyMatch(m -> m.contains("Action: delayed") && m.contains("Subject: Delayed Mail"));
      assertThat(box).anyMatch(m -> m.contains("Action: failed") && m.contains("delivery time expired")
          && m.contains("connection refused") && m.contains("Final-Recipient: rfc822; z@gone.test"));
      assertThat(box.stream().filter(m -> m.contains("Action: failed"))).hasSize(1);
      await().atMost(Duration.ofSeconds(30)).until(() -> queued(s).isEmpty());
    }
  }
}
