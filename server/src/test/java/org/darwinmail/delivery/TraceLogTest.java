package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.darwinmail.store.TraceRepository;
import org.junit.jupiter.api.Test;

/**
 * The trace writer gives way to mail on a full disk: while the disk has no room nothing is written behind (on
 * Derby a trace batch needing a new page made the database stop and reopen, and IMAP logins failed meanwhile:
 * tests/e2e/test_full_disk.py), and what waited is written once room returns.
 */
class TraceLogTest {
  /** The events written, in order; search and prune are not used here. */
  private static final class Written implements TraceRepository {
    final List<Event> events = new CopyOnWriteArrayList<>();

    @Override
    public void add(List<Event> batch) {
      events.addAll(batch);
    }

    @Override
    public Page search(String query, int offset, int limit) {
      return new Page(List.copyOf(events), false);
    }

    @Override
    public int prune(Instant before, long maxRows) {
      return 0;
    }
  }

  private static TraceRepository.Event event(String recipient) {
    return new TraceRepository.Event(Instant.now(), "stored", 0, "<m@x>", "s@x", recipient, "127.0.0.1", 10, "",
        "mailbox INBOX of " + recipient);
  }

  @Test
  void nothingIsWrittenBehindWhileTheDiskHasNoRoomAndAllOfItOnceRoomReturns() throws Exception {
    Written repo = new Written();
    AtomicBoolean room = new AtomicBoolean(false);
    try (TraceLog log = new TraceLog(repo, 30, 1000, room::get).start()) {
      log.add(event("a@x"));
      log.add(event("b@x"));
      // several of the writer's rounds (TraceLog.FLUSH) pass with no room: nothing reaches the store
      Thread.sleep(TraceLog.FLUSH.toMillis() * 4);
      assertThat(repo.events).isEmpty();
      room.set(true);
      long until = System.nanoTime() + 10_000_000_000L;
      while (repo.events.size() < 2 && System.nanoTime() < until) {
        Thread.sleep(20);
      }
      assertThat(repo.events).extracting(TraceRepository.Event::recipient).containsExactly("a@x", "b@x");
    }
  }

  @Test
  void withRoomTheEventsAreWrittenBehind() throws Exception {
    Written repo = new Written();
    try (TraceLog log = new TraceLog(repo, 30, 1000).start()) {
      log.add(event("c@x"));
      long until = System.nanoTime() + 10_000_000_000L;
      while (repo.events.isEmpty() && System.nanoTime() < until) {
        Thread.sleep(20);
      }
      assertThat(repo.events).hasSize(1);
    }
  }
}
