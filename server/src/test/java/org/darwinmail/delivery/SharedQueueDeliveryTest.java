package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.darwinmail.config.DeliveryConfig;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.dns.Dns;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Database;
import org.darwinmail.store.Directory;
import org.darwinmail.store.MailStore;
import org.darwinmail.store.MailboxEvents;
import org.darwinmail.store.PostgresDatabase;
import org.darwinmail.store.QueueRepository;
import org.darwinmail.store.SqlDirectoryRepository;
import org.darwinmail.store.SqlMessageRepository;
import org.darwinmail.store.SqlQueueRepository;
import org.darwinmail.store.SqlRunner;
import org.darwinmail.testing.FakeSmtp;
import org.darwinmail.testing.PostgresCluster;
import org.darwinmail.testing.TestDns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two delivery engines ("nodes") on one PostgreSQL queue (issue 20), delivering to one SMTP sink on loopback: each
 * node has its own connection pool, as separate servers would; the message bodies are in one blob folder, as they
 * would be in one S3 bucket. Every recipient must get each message once: not twice because both nodes saw it due,
 * and not twice because a node died in the middle of its transaction and the other one took its mail over.
 */
class SharedQueueDeliveryTest {
  private TestDns dns;
  private FakeSmtp sink;
  private Path dir;
  private String url;
  private BlobStore blobs;
  private final List<Node> nodes = new ArrayList<>();

  /** One node: its own pool on the shared database, its own engine. */
  private final class Node implements AutoCloseable {
    final SqlRunner db;
    final QueueRepository queue;
    final DeliveryEngine engine;

    Node(String name, Duration lease, int concurrency, int perDestination) throws IOException {
      this(name, PostgresDatabase.open(url, PostgresCluster.USER,
          PostgresDatabase.readPassword(PostgresCluster.shared().passwordFile()), 4), lease, concurrency,
          perDestination);
    }

    Node(String name, SqlRunner db, Duration lease, int concurrency, int perDestination) throws IOException {
      this.db = db;
      queue = new SqlQueueRepository(db);
      ServerConfig config = ServerConfig.defaults(Files.createDirectories(dir.resolve(name)))
          .withHostname(name + ".test")
          .withDns(new DnsConfig(List.of(dns.address()), 2))
          .withDelivery(DeliveryConfig.defaults().withPort(sink.port()).withConcurrency(concurrency, perDestination)
              .withRetry(List.of(1), 3600, 0));
      MailStore mail = new MailStore(new SqlMessageRepository(db), blobs, new MailboxEvents(), null);
      Directory directory = new Directory(new SqlDirectoryRepository(db), mail, "");
      Acceptance acceptance = new Acceptance(config, directory, blobs, new LocalDelivery(mail), null);
      engine = new DeliveryEngine(config, queue, blobs, directory, acceptance, new Dns(config.dns()), id -> false,
          lease);
      nodes.add(this);
    }

    @Override
    public void close() {
      engine.close();
      closeDb();
    }

    void closeDb() {
      if (db instanceof PostgresDatabase p) {
        p.close();
      } else if (db instanceof Database d) {
        d.close();
      }
    }
  }

  @BeforeEach
  void setUp() throws IOException {
    dir = Files.createTempDirectory("darwinmail-shared-queue");
    url = PostgresCluster.shared().newDatabase();
    blobs = new BlobStore(dir.resolve("blobs"));
    dns = new TestDns();
    sink = new FakeSmtp("127.0.0.1", 0, true, n -> "250 2.1.5 ok");
    dns.mx("one.test", 10, "mx.sink.test").mx("two.test", 10, "mx.sink.test").a("mx.sink.test", "127.0.0.1");
  }

  @AfterEach
  void tearDown() throws IOException {
    sink.dropHeld();
    nodes.forEach(Node::close);
    sink.close();
    dns.close();
    blobs.close();
  }

  private BlobRef body(String subject) throws IOException {
    BlobStore.BlobWriter w = blobs.create();
    w.write(("From: <alice@a.test>\r\nSubject: " + subject + "\r\n\r\nHello.\r\n").getBytes(StandardCharsets.UTF_8));
    return w.commit();
  }

  /** Each accepted (message, recipient) pair, as "subject recipient". */
  private List<String> deliveredPairs() {
    List<String> out = new ArrayList<>();
    for (FakeSmtp.Accepted a : sink.acceptedMessages) {
      a.recipients().forEach(r -> out.add(a.subject() + " " + r));
    }
    return out;
  }

  /**
   * 200 messages, each to one recipient in each of two domains (two transactions): 100 already queued when both
   * nodes start (as another node left them), 50 queued through each node while both run. 400 deliveries, none twice,
   * and the queue empty on both nodes. Without leases each node would attempt the whole backlog.
   */
  @Test
  void twoNodesOnOneQueueDeliverEveryRecipientOnce() throws Exception {
    Node a = new Node("a", Duration.ofSeconds(30), 20, 5);
    Node b = new Node("b", Duration.ofSeconds(30), 20, 5);
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      BlobRef ref = body("m" + i);
      a.queue.add("alice@a.test", List.of("u" + i + "@one.test", "u" + i + "@two.test"), ref.hash(), ref.size(),
          false, null);
      expected.add("m" + i + " u" + i + "@one.test");
      expected.add("m" + i + " u" + i + "@two.test");
    }
    a.engine.start();
    b.engine.start();
    ExecutorService ex = Executors.newFixedThreadPool(2);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (Node n : List.of(a, b)) {
        int from = n == a ? 100 : 150;
        fs.add(ex.submit(() -> {
          for (int i = from; i < from + 50; i++) {
            n.engine.enqueue("alice@a.test", List.of("u" + i + "@one.test", "u" + i + "@two.test"), body("m" + i),
                false, null);
          }
          return null;
        }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    } finally {
      ex.shutdownNow();
    }
    for (int i = 100; i < 200; i++) {
      expected.add("m" + i + " u" + i + "@one.test");
      expected.add("m" + i + " u" + i + "@two.test");
    }
    await().atMost(Duration.ofSeconds(120)).until(() -> deliveredPairs().size() >= 400 && a.queue.size() == 0);
    Thread.sleep(1000); // a duplicate would come now
    assertThat(deliveredPairs()).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(expected);
    assertThat(b.queue.size()).isZero();
    assertThat(b.queue.list()).isEmpty();
    long byA = deliveredBy(a);
    long byB = deliveredBy(b);
    System.out.println("delivered by node a: " + byA + ", by node b: " + byB);
    assertThat(byA + byB).isEqualTo(400);
  }

  /** The deliveries a node's engine made (the delivery trace is the database's, shared by the nodes). */
  private static long deliveredBy(Node n) {
    return n.engine.deliveredHere();
  }

  /**
   * Node a takes 30 messages and starts five transactions, which the sink holds before its final reply; then a
   * dies (its database connections go, it renews and records nothing more). Node b, running beside it, leaves a's
   * mail alone while a's leases run, then delivers all 30 once they have ended. The held transactions are then
   * dropped (never accepted): a sends nothing more, and nothing arrives twice.
   */
  @Test
  void aNodeThatDiesMidDeliveryLeavesItsMailToTheOtherOnceItsLeasesEnd() throws Exception {
    Duration lease = Duration.ofSeconds(4);
    Node a = new Node("a", lease, 5, 5);
    Node b = new Node("b", lease, 5, 5);
    sink.holding = true;
    a.engine.start();
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      a.engine.enqueue("alice@a.test", List.of("u" + i + "@one.test"), body("m" + i), false, null);
      expected.add("m" + i + " u" + i + "@one.test");
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> sink.held.size() == 5);
    a.closeDb(); // a is gone: no renewal, no record
    Instant died = Instant.now();
    sink.holding = false;
    b.engine.start();
    await().atMost(Duration.ofSeconds(60)).until(() -> deliveredPairs().size() >= 30);
    Instant first = sink.acceptedMessages.getFirst().at();
    // a renewed every second until it died: its leases ran at least three more seconds
    assertThat(Duration.between(died, first)).isGreaterThan(lease.dividedBy(2));
    sink.dropHeld();
    await().atMost(Duration.ofSeconds(30)).until(() -> b.queue.size() == 0);
    Thread.sleep(2000); // anything a still sent, or b sent twice, would come now
    assertThat(deliveredPairs()).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(expected);
    assertThat(b.queue.list()).isEmpty();
  }

  /**
   * On Derby one process opens the database: the leases a previous run left (it was killed in the middle of its
   * transactions) can be no one else's, and the next start attempts those recipients at once rather than when the
   * leases would have ended (ten minutes here).
   */
  @Test
  void onDerbyTheLeasesOfAKilledRunAreDueAtTheNextStart() throws Exception {
    Database derby = Database.open(Files.createDirectories(dir.resolve("derby")));
    Node n = new Node("derby", derby, Duration.ofMinutes(10), 5, 5);
    BlobRef ref = body("left over");
    n.queue.add("alice@a.test", List.of("u1@one.test"), ref.hash(), ref.size(), false, null,
        new QueueRepository.Lease("the-killed-run", Instant.now().plus(Duration.ofMinutes(10))));
    n.engine.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> deliveredPairs().size() >= 1);
    assertThat(deliveredPairs()).containsExactly("left over u1@one.test");
    await().atMost(Duration.ofSeconds(10)).until(() -> n.queue.size() == 0);
  }
}
