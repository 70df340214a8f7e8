package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The delivery trace's table (V013) on each engine (issue 17): found by queue id, recipient and Message-ID (and,
 * for a Message-ID, every event of the queue entries it was queued as), newest first, paged; pruned by age and by
 * a row cap; the queue's traced changes write their events in their own transaction. A second node reads what the
 * first wrote.
 */
abstract class TraceRepositoryContract {
  private static final String BLOB = "cd".repeat(32);
  private static final Instant T0 = Instant.parse("2026-11-01T10:00:00Z");
  private Engine engine;
  private TraceRepository t;

  abstract Engine engine();

  @BeforeEach
  void open() {
    engine = engine();
    t = new SqlTraceRepository(engine.node());
  }

  @AfterEach
  void close() throws Exception {
    engine.close();
  }

  private static TraceRepository.Event ev(int second, String kind, long queueId, String messageId, String rcpt,
      String detail) {
    return new TraceRepository.Event(T0.plusSeconds(second), kind, queueId, messageId, "a@example.test", rcpt,
        second == 0 ? "192.0.2.7" : "", 512, kind.equals("delivered") ? "mx.remote.test" : "", detail);
  }

  @Test
  void aSearchFindsByQueueIdRecipientAndMessageIdNewestFirst() {
    t.add(List.of(
        ev(0, "received", 0, "<Local1@Example.TEST>", "bob@example.test", "from 192.0.2.7"),
        ev(1, "stored", 0, "<Local1@Example.TEST>", "bob@example.test", "mailbox INBOX of bob@example.test"),
        ev(2, "queued", 7, "<r1@example.test>", "x@remote.test", "received from 192.0.2.7"),
        ev(3, "deferred", 7, "", "x@remote.test", "451 4.3.0 later"),
        ev(4, "delivered", 7, "", "x@remote.test", "250 2.0.0 ok"),
        ev(5, "queued", 8, "<other@example.test>", "y@remote.test", "")));
    assertThat(t.search("7", 0, 10).events()).extracting(TraceRepository.Event::kind)
        .containsExactly("delivered", "deferred", "queued");
    assertThat(t.search("X@Remote.test", 0, 10).events()).extracting(TraceRepository.Event::kind)
        .containsExactly("delivered", "deferred", "queued");
    // by Message-ID, any case, with or without brackets: the events written without it follow the queue id
    assertThat(t.search("r1@EXAMPLE.test", 0, 10).events()).extracting(TraceRepository.Event::kind)
        .containsExactly("delivered", "deferred", "queued");
    assertThat(t.search("<local1@example.test>", 0, 10).events()).extracting(TraceRepository.Event::kind)
        .containsExactly("stored", "received");
    TraceRepository.Event received = t.search("local1@example.test", 0, 10).events().getLast();
    assertThat(received).isEqualTo(ev(0, "received", 0, "<Local1@Example.TEST>", "bob@example.test",
        "from 192.0.2.7"));
    assertThat(t.search("nobody@example.test", 0, 10).events()).isEmpty();
    // another node reads the same events
    assertThat(new SqlTraceRepository(engine.node()).search("7", 0, 10).events()).hasSize(3);
  }

  @Test
  void pagesFollowEachOtherWithoutGapsOrRepeats() {
    List<TraceRepository.Event> all = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      all.add(ev(i, "deferred", 9, "", "z@remote.test", "try " + i));
    }
    t.add(all);
    List<String> seen = new ArrayList<>();
    int offset = 0;
    TraceRepository.Page p;
    do {
      p = t.search("z@remote.test", offset, 10);
      p.events().forEach(e -> seen.add(e.detail()));
      offset += 10;
    } while (p.more());
    assertThat(seen).hasSize(25).doesNotHaveDuplicates().startsWith("try 24", "try 23").endsWith("try 0");
    assertThat(t.search("z@remote.test", 20, 10).more()).isFalse();
  }

  @Test
  void pruningDeletesWhatIsPastRetentionThenTheOldestBeyondTheCap() {
    List<TraceRepository.Event> all = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      all.add(ev(i * 86_400, "deferred", 11, "", "old@remote.test", "day " + i));
    }
    t.add(all);
    // retention: before day 4 goes
    assertThat(t.prune(T0.plus(Duration.ofDays(4)), 1000)).isEqualTo(4);
    assertThat(t.search("old@remote.test", 0, 20).events()).hasSize(6).last()
        .extracting(TraceRepository.Event::detail).isEqualTo("day 4");
    // the cap: the newest 3 stay
    assertThat(t.prune(T0, 3)).isEqualTo(3);
    assertThat(t.search("old@remote.test", 0, 20).events()).extracting(TraceRepository.Event::detail)
        .containsExactly("day 9", "day 8", "day 7");
    assertThat(t.prune(T0, 3)).isZero();
  }

  @Test
  void theQueueWritesItsEventsInItsOwnTransactions() {
    QueueRepository q = new SqlQueueRepository(engine.node());
    Instant at = Instant.now();
    List<QueueRepository.Rcpt> rows = q.add("a@example.test", List.of("x@remote.test", "y@remote.test"), BLOB, 10,
        false, null, null, r -> new TraceRepository.Event(at, "queued", r.messageId(), "<q@example.test>",
            "a@example.test", r.recipient(), "192.0.2.9", 10, "", "received"));
    long id = rows.getFirst().messageId();
    assertThat(t.search(String.valueOf(id), 0, 10).events()).extracting(TraceRepository.Event::recipient)
        .containsExactlyInAnyOrder("x@remote.test", "y@remote.test");
    QueueRepository.Rcpt x = rows.getFirst();
    QueueRepository.Rcpt y = rows.getLast();
    q.deferLeased(List.of(x), at.plusSeconds(60), "451 later", r -> new TraceRepository.Event(at.plusSeconds(1),
        "deferred", id, "", "a@example.test", r.recipient(), "", 0, "mx.remote.test", "451 later"));
    q.remove(id, List.of(y.id()), List.of(new TraceRepository.Event(at.plusSeconds(2), "delivered", id, "",
        "a@example.test", "y@remote.test", "", 0, "mx.remote.test", "250 ok")));
    q.removeLeased(id, List.of(q.recipients(id).getFirst()), r -> new TraceRepository.Event(at.plusSeconds(3),
        "bounced", id, "", "a@example.test", r.recipient(), "", 0, "mx.remote.test", "550 no"));
    assertThat(t.search("q@example.test", 0, 10).events()).extracting(e -> e.kind() + " " + e.recipient())
        .containsExactly("bounced x@remote.test", "delivered y@remote.test", "deferred x@remote.test",
            "queued y@remote.test", "queued x@remote.test");
    assertThat(q.message(id)).isEmpty();
  }
}
