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
    assertThat(q.blobsReferenced("ab")).containsExactly(BLOB);
    assertThat(q.blobsReferenced("aa")).isEmpty();
    assertThat(q.blobsReferenced("ac")).isEmpty();
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
    List<String> owners = new ArrayList<>();
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
        String owner = "node-" + owners.size();
        owners.add(owner);
        fs.add(ex.submit(() -> {
          go.await();
          List<Long> mine = new ArrayList<>();
          while (true) {
            List<QueueRepository.Rcpt> got = node.claim(now, 7, new QueueRepository.Lease(owner, leaseUntil));
            if (got.isEmpty()) {
              return mine;
            }
            assertThat(got).extracting(QueueRepository.Rcpt::nextAttempt).containsOnly(leaseUntil);
            assertThat(got).extracting(QueueRepository.Rcpt::leaseOwner).containsOnly(owner);
            assertThat(got).extracting(QueueRepository.Rcpt::token).containsOnly(1);
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
    List<QueueRepository.Rcpt> again = other.claim(leaseUntil, 1000,
        new QueueRepository.Lease("node-2", leaseUntil.plus(Duration.ofMinutes(5))));
    assertThat(ids(again)).containsExactlyElementsOf(all);
    assertThat(again).extracting(QueueRepository.Rcpt::token).containsOnly(2);
    // a claim is not an attempt: only a delivery's outcome (deferred) counts one
    assertThat(q.list().values().stream().flatMap(List::stream).toList())
        .extracting(QueueRepository.Rcpt::attempts).containsOnly(0);
  }

  private static QueueRepository.Lease lease(String owner, Instant until) {
    return new QueueRepository.Lease(owner, until.truncatedTo(ChronoUnit.MILLIS));
  }

  /**
   * Mail a node queues itself is leased to it as it is added: no other node claims it before the lease ends, and
   * the node attempts it under token 1.
   */
  @Test
  void mailAddedUnderALeaseIsNotClaimedByAnotherNodeBeforeTheLeaseEnds() {
    Instant until = Instant.now().plus(Duration.ofMinutes(2));
    List<QueueRepository.Rcpt> rows = q.add("alice@example.test", List.of("bob@example.org", "carol@example.net"),
        BLOB, 10, false, null, lease("a", until));
    assertThat(rows).extracting(QueueRepository.Rcpt::token).containsOnly(1);
    assertThat(q.recipients(rows.getFirst().messageId())).extracting(QueueRepository.Rcpt::leaseOwner)
        .containsOnly("a");
    QueueRepository other = repository(engine.node());
    assertThat(other.claim(Instant.now(), 100, lease("b", until.plusSeconds(60)))).isEmpty();
    assertThat(q.nextDueAfter(Instant.now())).isEqualTo(until.truncatedTo(ChronoUnit.MILLIS));
    assertThat(ids(other.claim(until.plusMillis(1), 100, lease("b", until.plusSeconds(60))))).isEqualTo(ids(rows));
  }

  /**
   * A node that stalled past the end of its lease (or died) loses the recipient to the node that claims it next:
   * the old holder can neither renew, nor defer, nor bounce it any more (its token is stale), while the new holder
   * can; a delivery the old holder completes is still recorded, as the recipient did get the message.
   */
  @Test
  void anExpiredLeaseIsTakenOverAndTheStaleHoldersFailuresAreRefused() {
    List<QueueRepository.Rcpt> added = add("bob@example.org", "carol@example.org", "dave@example.org");
    long message = added.getFirst().messageId();
    Instant t0 = Instant.now().plusMillis(1);
    Instant end = t0.plusSeconds(30);
    List<QueueRepository.Rcpt> a = q.claim(t0, 10, lease("a", end));
    assertThat(ids(a)).isEqualTo(ids(added));
    QueueRepository other = repository(engine.node());
    // before the end: nothing for b
    assertThat(other.claim(end.minusMillis(1), 10, lease("b", end.plusSeconds(30)))).isEmpty();
    // after it: all of it, token 2
    List<QueueRepository.Rcpt> b = other.claim(end, 10, lease("b", end.plusSeconds(30)));
    assertThat(ids(b)).isEqualTo(ids(added));
    assertThat(b).extracting(QueueRepository.Rcpt::token).containsOnly(2);
    assertThat(b).extracting(QueueRepository.Rcpt::leaseOwner).containsOnly("b");

    assertThat(q.renew(a, lease("a", end.plusSeconds(60)))).isEmpty();
    assertThat(q.deferLeased(List.of(a.get(0)), end.plusSeconds(600), "451 stale")).isEmpty();
    assertThat(q.removeLeased(message, List.of(a.get(1)))).isEmpty();
    // b's lease is untouched by a's refused writes
    Map<Long, QueueRepository.Rcpt> now = byId(q.recipients(message));
    assertThat(now.values()).extracting(QueueRepository.Rcpt::leaseOwner).containsOnly("b");
    assertThat(now.values()).extracting(QueueRepository.Rcpt::attempts).containsOnly(0);
    assertThat(now.values()).extracting(QueueRepository.Rcpt::lastError).containsOnlyNulls();

    // the holder's own writes go through
    List<QueueRepository.Rcpt> renewed = other.renew(b, lease("b", end.plusSeconds(90)));
    assertThat(ids(renewed)).isEqualTo(ids(b));
    assertThat(renewed).extracting(QueueRepository.Rcpt::nextAttempt)
        .containsOnly(end.plusSeconds(90).truncatedTo(ChronoUnit.MILLIS));
    assertThat(other.deferLeased(List.of(b.get(0)), end.plusSeconds(600), "451 later"))
        .containsExactly(b.get(0).id());
    QueueRepository.Rcpt deferred = byId(q.recipients(message)).get(b.get(0).id());
    assertThat(deferred.attempts()).isEqualTo(1);
    assertThat(deferred.leaseOwner()).isNull();
    assertThat(deferred.lastError()).isEqualTo("451 later");
    // a deferral ends the lease: a renewal with the same token does not bring it back
    assertThat(other.renew(List.of(b.get(0)), lease("b", end.plusSeconds(120)))).isEmpty();
    assertThat(other.removeLeased(message, List.of(b.get(1)))).containsExactly(b.get(1).id());

    // a delivery by the stale holder is recorded all the same
    q.remove(message, List.of(a.get(2).id()));
    assertThat(ids(q.recipients(message))).containsExactly(added.get(0).id());
  }

  /** Delivered and bounced recipients are gone for every node: no claim offers them again. */
  @Test
  void deliveredRecipientsAreNotOfferedAgain() {
    List<QueueRepository.Rcpt> added = add("bob@example.org", "carol@example.org", "dave@example.org");
    long message = added.getFirst().messageId();
    Instant t0 = Instant.now().plusMillis(1);
    List<QueueRepository.Rcpt> a = q.claim(t0, 10, lease("a", t0.plusSeconds(5)));
    q.remove(message, List.of(a.get(0).id()));
    assertThat(q.removeLeased(message, List.of(a.get(1)))).containsExactly(a.get(1).id());
    Instant later = t0.plus(Duration.ofDays(1));
    QueueRepository other = repository(engine.node());
    assertThat(ids(other.claim(later, 10, lease("b", later.plusSeconds(5))))).containsExactly(a.get(2).id());
    other.remove(message, List.of(a.get(2).id()));
    assertThat(other.claim(later.plus(Duration.ofDays(1)), 10, lease("b", later.plus(Duration.ofDays(2)))))
        .isEmpty();
    assertThat(q.message(message)).isEmpty();
    assertThat(q.size()).isZero();
  }

  /**
   * A node closing gives back what it had not started (due at once for another node); an administrator's hold ends
   * a lease (the attempt in flight then records no failure over it); retry leaves a running lease to its holder.
   */
  @Test
  void releaseHoldAndRetryRespectTheLease() {
    List<QueueRepository.Rcpt> added = add("bob@example.org", "carol@example.org");
    long message = added.getFirst().messageId();
    Instant end = Instant.now().plusSeconds(60);
    List<QueueRepository.Rcpt> a = q.claim(Instant.now(), 10, lease("a", end));
    assertThat(q.retryNow(List.of(message))).isZero();
    assertThat(q.retryNow(List.of())).isZero();
    QueueRepository other = repository(engine.node());
    assertThat(other.claim(Instant.now(), 10, lease("b", end))).isEmpty();
    assertThat(q.release(List.of(a.get(0)), "not-a")).isZero();
    assertThat(q.release(List.of(a.get(0)), "a")).isEqualTo(1);
    assertThat(ids(other.claim(Instant.now().plusMillis(1), 10, lease("b", end)))).containsExactly(a.get(0).id());

    q.deferred(List.of(a.get(1).id()), Instant.now().plus(Duration.ofDays(3650)), "held by admin");
    assertThat(q.deferLeased(List.of(a.get(1)), Instant.now().plusSeconds(300), "451 in flight")).isEmpty();
    QueueRepository.Rcpt held = byId(q.recipients(message)).get(a.get(1).id());
    assertThat(held.lastError()).isEqualTo("held by admin");
    assertThat(held.leaseOwner()).isNull();
    assertThat(q.retryNow(List.of(message))).isEqualTo(1);
  }

  /**
   * At start, the leases of a previous run: on Derby (one process opens the database) they can only be this
   * node's previous run's, and are due again at once; on PostgreSQL another node may hold them, and they stay.
   */
  @Test
  void orphanedLeasesAreReleasedAtStartOnlyWhereOneProcessOpensTheDatabase() {
    List<QueueRepository.Rcpt> added = add("bob@example.org");
    Instant end = Instant.now().plusSeconds(600);
    q.claim(Instant.now(), 10, lease("a", end));
    boolean one = engine.node().dialect().oneProcess();
    assertThat(q.releaseOrphanedLeases(Instant.now())).isEqualTo(one ? 1 : 0);
    assertThat(ids(q.due(Instant.now().plusMillis(1), 10))).isEqualTo(one ? ids(added) : List.of());
  }

  private static Map<Long, QueueRepository.Rcpt> byId(List<QueueRepository.Rcpt> rows) {
    Map<Long, QueueRepository.Rcpt> m = new java.util.LinkedHashMap<>();
    rows.forEach(r -> m.put(r.id(), r));
    return m;
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
