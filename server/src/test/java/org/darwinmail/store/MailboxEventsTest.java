package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-memory change log that IMAP sessions catch up from: exact or silent, never wrong. */
class MailboxEventsTest {
  @TempDir
  Path dir;

  private static MessageRow row(long uid, long modseq) {
    return new MessageRow(1, uid, "h", 10, Instant.EPOCH, 0, Set.of(), modseq);
  }

  @Test
  void silentUntilItKnowsWhereItStartsThenExactEvenWhenCommitsArePublishedOutOfOrder() {
    MailboxEvents e = new MailboxEvents();
    AtomicInteger calls = new AtomicInteger();
    e.subscribe(1, id -> calls.incrementAndGet());
    long epoch = e.epoch(1);
    assertThat(e.since(1, 5)).isNull();
    e.establish(1, 5, epoch);
    assertThat(e.since(1, 5)).isEqualTo(new MailboxEvents.Delta(5, List.of(), List.of()));
    assertThat(e.since(1, 4)).as("before the log starts").isNull();
    // modseq 7 is published before 6: until 6 arrives the log tells nothing beyond 5.
    e.committed(1, 7, 7, List.of(row(2, 7)), List.of());
    assertThat(e.since(1, 5)).isEqualTo(new MailboxEvents.Delta(5, List.of(), List.of()));
    e.committed(1, 6, 6, List.of(row(1, 6)), List.of());
    assertThat(e.since(1, 5)).isEqualTo(new MailboxEvents.Delta(7, List.of(row(1, 6), row(2, 7)), List.of()));
    assertThat(e.since(1, 6)).isEqualTo(new MailboxEvents.Delta(7, List.of(row(2, 7)), List.of()));
    // A later version replaces the earlier one; an expunged message is not reported as changed.
    e.committed(1, 8, 8, List.of(row(1, 8)), List.of());
    e.committed(1, 9, 9, List.of(), List.of(2L));
    assertThat(e.since(1, 5)).isEqualTo(new MailboxEvents.Delta(9, List.of(row(1, 8)), List.of(2L)));
    assertThat(calls.get()).isEqualTo(4);
  }

  /**
   * A change made on another node (heard on the cluster channel) has no rows in this log: the log must not go on
   * answering as if it knew everything. Without the reset, a local change after the remote one left the log stuck
   * below the remote modseq, answering "nothing new" to every session until 4,000 more changes reset it.
   */
  @Test
  void aWatchHearsEveryChangeWithoutALogAndTheSafetyNetKnowsWhatItHeard() throws Exception {
    MailboxEvents e = new MailboxEvents();
    List<Long> heard = new ArrayList<>();
    AutoCloseable w = e.watch(1, heard::add);
    assertThat(e.watched()).containsEntry(1L, -1L); // nothing heard yet: the safety net reads the database once
    e.committed(1, 4, 4, List.of(row(1, 4)), List.of());
    e.changedElsewhere(1, 6); // another node's change, through the cluster channel
    assertThat(heard).containsExactly(1L, 1L);
    assertThat(e.since(1, 3)).as("no log is kept for a watch").isNull();
    assertThat(e.watched()).containsEntry(1L, 6L);
    // a subscriber (a selected mailbox) on the same mailbox gets its log; when it leaves, the log goes
    AtomicInteger sub = new AtomicInteger();
    AutoCloseable s = e.subscribe(1, id -> sub.incrementAndGet());
    e.establish(1, 6, e.epoch(1));
    e.committed(1, 7, 7, List.of(row(2, 7)), List.of());
    assertThat(e.since(1, 6)).isEqualTo(new MailboxEvents.Delta(7, List.of(row(2, 7)), List.of()));
    s.close();
    assertThat(e.since(1, 6)).isNull();
    e.committed(1, 8, 8, List.of(row(3, 8)), List.of());
    assertThat(heard).hasSize(4);
    assertThat(sub.get()).isEqualTo(1);
    w.close();
    assertThat(e.watched()).isEmpty();
  }

  @Test
  void listenersOfTheSetOfMailboxesHearCreateRenameDeleteAndSubscriptions() throws Exception {
    try (var s = DarwinMail.Services.open(ServerConfig.defaults(dir))) {
      MailStore mail = s.mail();
      s.directory().addDomain("example.test");
      Account a = s.directory().addAccount("set@example.test", "pw".toCharArray());
      AtomicInteger told = new AtomicInteger();
      AutoCloseable l = mail.events().subscribeMailboxes(told::incrementAndGet);
      Mailbox m = mail.createMailbox(a.id(), "Box", null);
      assertThat(told.get()).isEqualTo(1);
      mail.renameMailbox(a.id(), "Box", "Crate");
      mail.setSubscribed(m.id(), false);
      mail.deleteMailbox(m.id());
      assertThat(told.get()).isEqualTo(4);
      l.close();
      mail.createMailbox(a.id(), "Other", null);
      assertThat(told.get()).isEqualTo(4);
    }
  }

  @Test
  void aChangeElsewhereResetsTheLogUnlessItAlreadyReachesPastIt() {
    MailboxEvents e = new MailboxEvents();
    AtomicInteger calls = new AtomicInteger();
    e.subscribe(1, id -> calls.incrementAndGet());
    long epoch = e.epoch(1);
    e.establish(1, 5, epoch);
    e.changedElsewhere(1, 6); // another node took modseq 6
    e.committed(1, 7, 7, List.of(row(2, 7)), List.of()); // then this node 7
    assertThat(e.since(1, 5)).as("the log cannot tell modseq 6: the database must").isNull();
    assertThat(e.epoch(1)).as("an establish read before the change is ignored").isNotEqualTo(epoch);
    assertThat(calls.get()).isEqualTo(2);

    long now = e.epoch(1);
    e.establish(1, 7, now); // a session read the database: highest 7
    e.changedElsewhere(1, 6); // the notification of 6, late: the log already reaches past it
    assertThat(e.since(1, 7)).isEqualTo(new MailboxEvents.Delta(7, List.of(), List.of()));
    assertThat(e.epoch(1)).isEqualTo(now);
    e.changedElsewhere(1, 0); // deleted elsewhere (modseq unknown)
    assertThat(e.since(1, 7)).isNull();
    assertThat(calls.get()).isEqualTo(4);
    assertThat(e.watched()).containsEntry(1L, -1L);
  }

  @Test
  void anEstablishReadBeforeAResetIsIgnoredAndOldModseqsFallBackToTheDatabase() {
    MailboxEvents e = new MailboxEvents();
    e.subscribe(1, id -> {});
    long epoch = e.epoch(1);
    e.establish(1, 0, epoch);
    for (long m = 1; m <= MailboxEvents.KEEP + 10; m++) {
      e.committed(1, m, m, List.of(row(m, m)), List.of());
    }
    assertThat(e.since(1, 0)).as("evicted").isNull();
    assertThat(e.since(1, MailboxEvents.KEEP + 5).changed()).hasSize(5);
    // A gap that never fills: the log resets itself, and a reading from before the reset does not re-arm it.
    long before = e.epoch(1);
    long m0 = MailboxEvents.KEEP + 12; // KEEP + 11 never comes
    for (long m = m0; m < m0 + 2L * MailboxEvents.KEEP + 1; m++) {
      e.committed(1, m, m, List.of(row(m, m)), List.of());
    }
    assertThat(e.epoch(1)).isGreaterThan(before);
    e.establish(1, MailboxEvents.KEEP + 10, before);
    assertThat(e.since(1, MailboxEvents.KEEP + 10)).isNull();
  }

  /**
   * Writers deliver, flag and expunge concurrently while a follower keeps a view from the log (falling back to a
   * full read when it is silent): at the end the view is what the database holds, row for row.
   */
  @Test
  void aFollowerOfTheLogEndsWithWhatTheDatabaseHolds() throws Exception {
    try (var s = DarwinMail.Services.open(ServerConfig.defaults(dir))) {
      s.directory().addDomain("example.test");
      Account a = s.directory().addAccount("alice@example.test", "pw".toCharArray());
      long box = s.mail().mailbox(a.id(), Mailbox.INBOX).orElseThrow().id();
      BlobStore.BlobWriter w = s.blobs().create();
      BlobRef blob;
      try (OutputStream o = w) {
        o.write("Subject: x\r\n\r\nbody\r\n".getBytes(StandardCharsets.UTF_8));
        blob = w.commit();
      }
      MailboxEvents events = s.mail().events();
      AtomicBoolean dirty = new AtomicBoolean(true);
      events.subscribe(box, id -> dirty.set(true));
      long epoch = events.epoch(box);
      long synced = s.mail().mailbox(box).orElseThrow().highestModseq();
      events.establish(box, synced, epoch);
      Map<Long, MessageRow> view = new TreeMap<>();
      AtomicBoolean writing = new AtomicBoolean(true);
      List<Thread> writers = new ArrayList<>();
      for (int t = 0; t < 6; t++) {
        Random rnd = new Random(t);
        writers.add(Thread.ofVirtual().start(() -> {
          for (int i = 0; i < 60; i++) {
            List<Long> uids = s.mail().messages(box).stream().map(MessageRow::uid).toList();
            int op = rnd.nextInt(3);
            if (op == 0 || uids.isEmpty()) {
              s.mail().deliver(List.of(box), blob, Instant.now());
            } else if (op == 1) {
              s.mail().store(box, List.of(uids.get(rnd.nextInt(uids.size()))), MailStore.FlagOp.ADD,
                  1 << rnd.nextInt(4), Set.of(), null);
            } else {
              s.mail().expunge(box, List.of(uids.get(rnd.nextInt(uids.size()))));
            }
          }
        }));
      }
      Thread done = Thread.ofVirtual().start(() -> {
        writers.forEach(x -> {
          try {
            x.join();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        });
        writing.set(false);
      });
      int fromLog = 0;
      int fromDatabase = 0;
      while (writing.get() || dirty.get()) {
        if (!dirty.getAndSet(false)) {
          Thread.sleep(1);
          continue;
        }
        MailboxEvents.Delta d = events.since(box, synced);
        if (d == null) {
          fromDatabase++;
          long ep = events.epoch(box);
          synced = s.mail().mailbox(box).orElseThrow().highestModseq();
          events.establish(box, synced, ep);
          view.clear();
          s.mail().messages(box).forEach(r -> view.put(r.uid(), r));
          continue;
        }
        fromLog++;
        d.expunged().forEach(view::remove);
        for (MessageRow r : d.changed()) {
          view.merge(r.uid(), r, (old, nu) -> nu.modseq() > old.modseq() ? nu : old);
        }
        synced = d.highest();
      }
      done.join();
      Map<Long, MessageRow> stored = new TreeMap<>();
      s.mail().messages(box).forEach(r -> stored.put(r.uid(), r));
      assertThat(view).isEqualTo(stored);
      assertThat(synced).isEqualTo(s.mail().mailbox(box).orElseThrow().highestModseq());
      assertThat(fromLog).as("caught up from memory").isGreaterThan(fromDatabase);
    }
  }
}
