package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the delivery engine, the guard's hold and {@code darwinmail queue} rely on from a {@link QueueRepository},
 * run on each engine by a subclass (issue 20: every repository test runs on both). "Another node" is a second
 * repository on the same store: on PostgreSQL with its own connection pool.
 */
abstract class QueueRepositoryContract {
  private static final String BLOB = "ab".repeat(32);
  private Engine engine;
  private QueueRepository q;

  abstract Engine engine();

  abstract QueueRepository repository(SqlRunner node);

  @BeforeEach
  void open() {
    engine = engine();
    q = repository(engine.node());
  }

  @AfterEach
  void close() throws Exception {
    engine.close();
  }

  private List<QueueRepository.Rcpt> add(String... rcpts) {
    return q.add("alice@example.test", List.of(rcpts), BLOB, 1234, false, "alice@example.test");
  }

  private static List<Long> ids(List<QueueRepository.Rcpt> rows) {
    return rows.stream().map(QueueRepository.Rcpt::id).toList();
  }

  @Test
  void anAddedMessageIsDueNowWithItsRecipientsAndItsEnvelope() {
    Instant before = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    List<QueueRepository.Rcpt> rows = q.add("", List.of("bob@Example.ORG", "carol@bücher.example"), BLOB, 99, true,
        null);
    assertThat(rows).extracting(QueueRepository.Rcpt::recipient).containsExactly("bob@Example.ORG",
        "carol@bücher.example");
    // the unit of routing: the lower-case A-label domain
    assertThat(rows).extracting(QueueRepository.Rcpt::domain).containsExactly("example.org", "xn--bcher-kva.example");
    assertThat(ids(q.due(Instant.now(), 100))).isEqualTo(ids(rows));
    QueueRepository.Entry e = q.message(rows.getFirst().messageId()).orElseThrow();
    assertThat(e.sender()).isEmpty();
    assertThat(e.blob()).isEqualTo(BLOB);
    assertThat(e.size()).isEqualTo(99);
    assertThat(e.smtputf8()).isTrue();
    assertThat(e.account()).isNull();
    assertThat(e.warned()).isFalse();
    assertThat(e.created()).isBetween(before, Instant.now());
    List<QueueRepository.Rcpt> stored = q.recipients(e.id());
    assertThat(ids(stored)).isEqualTo(ids(rows));
    assertThat(stored).extracting(QueueRepository.Rcpt::attempts).containsOnly(0);
    assertThat(stored).extracting(QueueRepository.Rcpt::lastError).containsOnlyNulls();
    assertThat(stored).extracting(QueueRepository.Rcpt::domain).containsExactly("example.org",
        "xn--bcher-kva.example");
    assertThat(q.size()).isEqualTo(2);
    assertThat(q.blobReferenced(BLOB)).isTrue();
    assertThat(q.blobReferenced("cd".repeat(32))).isFalse();
    assertThat(q.message(e.id() + 1000)).isEmpty();
  }

  @Test
  void dueIsOldestFirstAndBoundedByTheLimit() {
    List<Long> all = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      all.addAll(ids(add("r" + i + "@example.org")));
    }
    assertThat(ids(q.due(Instant.now(), 3))).isEqualTo(all.subList(0, 3));
    assertThat(ids(q.due(Instant.now(), 100))).isEqualTo(all);
  }

  @Test
  void aDeferredRecipientCountsItsAttemptAndWaitsForItsNextTime() {
    List<QueueRepository.Rcpt> rows = add("bob@example.org", "carol@example.org");
    Instant next = Instant.now().plus(Duration.ofMinutes(10)).truncatedTo(ChronoUnit.MILLIS);
    q.deferred(List.of(rows.getFirst().id()), next, "451 4.3.0 try later " + "x".repeat(2000));
    assertThat(ids(q.due(Instant.now(), 100))).containsExactly(rows.get(1).id());
    assertThat(q.nextDueAfter(Instant.now())).isEqualTo(next);
    assertThat(ids(q.due(next, 100))).containsExactlyInAnyOrderElementsOf(ids(rows));
    QueueRepository.Rcpt r = q.recipients(rows.getFirst().messageId()).getFirst();
    assertThat(r.attempts()).isEqualTo(1);
    assertThat(r.nextAttempt()).isEqualTo(next);
    assertThat(r.lastError()).startsWith("451 4.3.0 try later").hasSize(1000);
    q.deferred(List.of(r.id()), next, "again");
    assertThat(q.recipients(r.messageId()).getFirst().attempts()).isEqualTo(2);
    assertThat(q.nextDueAfter(next)).isNull();
  }

  @Test
  void removingTheLastRecipientRemovesTheMessage() {
    List<QueueRepository.Rcpt> rows = add("bob@example.org", "carol@example.net");
    long id = rows.getFirst().messageId();
    q.remove(id, List.of(rows.getFirst().id()));
    assertThat(q.message(id)).isPresent();
    assertThat(ids(q.recipients(id))).containsExactly(rows.get(1).id());
    assertThat(q.size()).isEqualTo(1);
    q.remove(id, List.of(rows.get(1).id()));
    assertThat(q.message(id)).isEmpty();
    assertThat(q.size()).isZero();
    assertThat(q.blobReferenced(BLOB)).isFalse();
    assertThat(q.list()).isEmpty();
  }

  @Test
  void theDelayNoticeIsRecordedOnce() {
    long id = add("bob@example.org").getFirst().messageId();
    q.markWarned(id);
    assertThat(q.message(id).orElseThrow().warned()).isTrue();
  }

  @Test
  void retryNowMakesDeferredRecipientsDueAllOrPerMessage() {
    List<QueueRepository.Rcpt> a = add("bob@example.org", "carol@example.org");
    List<QueueRepository.Rcpt> b = add("dave@example.org");
    Instant later = Instant.now().plus(Duration.ofHours(1));
    q.deferred(ids(a), later, "busy");
    q.deferred(ids(b), later, "busy");
    assertThat(q.due(Instant.now(), 100)).isEmpty();
    assertThat(q.retryNow(List.of(a.getFirst().messageId()))).isEqualTo(2);
    assertThat(ids(q.due(Instant.now(), 100))).containsExactlyInAnyOrderElementsOf(ids(a));
    assertThat(q.retryNow(List.of())).isEqualTo(3);
    assertThat(q.due(Instant.now(), 100)).hasSize(3);
  }

  @Test
  void deleteRemovesMessagesWithTheirRecipientsAndCountsOnlyThoseThatExisted() {
    long a = add("bob@example.org", "carol@example.org").getFirst().messageId();
    long b = add("dave@example.org").getFirst().messageId();
    assertThat(q.delete(List.of(a, b + 1000))).isEqualTo(1);
    assertThat(q.message(a)).isEmpty();
    assertThat(q.recipients(a)).isEmpty();
    assertThat(q.size()).isEqualTo(1);
    assertThat(q.list().keySet()).extracting(QueueRepository.Entry::id).containsExactly(b);
  }

  @Test
  void listShowsEveryMessageOldestFirstWithItsRecipients() {
    List<QueueRepository.Rcpt> a = add("bob@example.org", "carol@example.org");
    List<QueueRepository.Rcpt> b = add("dave@example.org");
    Map<QueueRepository.Entry, List<QueueRepository.Rcpt>> l = q.list();
    assertThat(l.keySet()).extracting(QueueRepository.Entry::id).containsExactly(a.getFirst().messageId(),
        b.getFirst().messageId());
    assertThat(l.values()).extracting(QueueRepositoryContract::ids).containsExactly(ids(a), ids(b));
  }

  /**
   * Two nodes finishing the recipients of one message at the same moment (one destination each): whichever
   * finishes last removes the message, never neither (a message row left with no recipients would stay in
   * {@code queue list} and keep its blob forever).
   */
  @Test
  void twoNodesRemovingTheLastRecipientsOfOneMessageTogetherLeaveNoMessageBehind() throws Exception {
    QueueRepository other = repository(engine.node());
    List<Long> messages = new ArrayList<>();
    List<List<QueueRepository.Rcpt>> rows = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      List<QueueRepository.Rcpt> r = add("bob@example.org", "carol@example.net");
      rows.add(r);
      messages.add(r.getFirst().messageId());
    }
    ExecutorService ex = Executors.newFixedThreadPool(2);
    try {
      CountDownLatch go = new CountDownLatch(1);
      Future<?> one = ex.submit(() -> {
        go.await();
        for (List<QueueRepository.Rcpt> r : rows) {
          q.remove(r.getFirst().messageId(), List.of(r.getFirst().id()));
        }
        return null;
      });
      Future<?> two = ex.submit(() -> {
        go.await();
        for (List<QueueRepository.Rcpt> r : rows) {
          other.remove(r.get(1).messageId(), List.of(r.get(1).id()));
        }
        return null;
      });
      go.countDown();
      one.get();
      two.get();
    } finally {
      ex.shutdownNow();
    }
    assertThat(q.size()).isZero();
    assertThat(q.list()).isEmpty();
    assertThat(messages).allSatisfy(id -> assertThat(q.message(id)).isEmpty());
  }

  /**
   * Four nodes claiming the due recipients at once, a few at a time: each recipient goes to exactly one of them, and
   * none is due again before the lease ends; when it has ended (the claimer died), another node claims it again.
   */
  @Test
  void concurrentClaimersNeverGetTheSameRecipientAndALapsedLeaseMakesItDueAgain() throws Exception {
    List<Long> all = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      all.addAll(ids(add("bob@example.org", "carol@example.net")));
    }
    Instant now = Instant.now().plusMillis(1);
    Instant leaseUntil = now.plus(Duration.ofMinutes(5)).truncatedTo(ChronoUnit.MILLIS);
    List<QueueRepository> nodes = new ArrayList<>(List.of(q));
    for (int i = 0; i < 3; i++) {
      nodes.add(repository(engine.node()));
    }
    ExecutorService ex = Executors.newFixedThreadPool(nodes.size());
    List<Long> claimed = new ArrayList<>();
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<List<Long>>> fs = new ArrayList<>();
      for (QueueRepository node : nodes) {
        fs.add(ex.submit(() -> {
          go.await();
          List<Long> mine = new ArrayList<>();
          while (true) {
            List<QueueRepository.Rcpt> got = node.claim(now, 7, leaseUntil);
            if (got.isEmpty()) {
              return mine;
            }
            assertThat(got).extracting(QueueRepository.Rcpt::nextAttempt).containsOnly(leaseUntil);
            mine.addAll(ids(got));
          }
        }));
      }
      go.countDown();
      for (Future<List<Long>> f : fs) {
        claimed.addAll(f.get());
      }
    } finally {
      ex.shutdownNow();
    }
    assertThat(claimed).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(all);
    assertThat(q.due(leaseUntil.minusMillis(1), 1000)).isEmpty();
    assertThat(q.nextDueAfter(now)).isEqualTo(leaseUntil);
    QueueRepository other = nodes.get(2);
    assertThat(ids(other.claim(leaseUntil, 1000, leaseUntil.plus(Duration.ofMinutes(5)))))
        .containsExactlyElementsOf(all);
    // a claim is not an attempt: only a delivery's outcome (deferred) counts one
    assertThat(q.list().values().stream().flatMap(List::stream).toList())
        .extracting(QueueRepository.Rcpt::attempts).containsOnly(0);
  }

  @Test
  void aMessageAddedOnOneNodeIsDueOnAnother() {
    List<QueueRepository.Rcpt> rows = add("bob@example.org");
    QueueRepository other = repository(engine.node());
    assertThat(ids(other.due(Instant.now(), 10))).isEqualTo(ids(rows));
    other.remove(rows.getFirst().messageId(), ids(rows));
    assertThat(q.size()).isZero();
  }
}
