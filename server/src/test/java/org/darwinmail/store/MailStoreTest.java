package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.Blobs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store on a real Derby database on disk, reopened as a restart would. */
class MailStoreTest {
  @TempDir
  Path dir;

  private DarwinMail.Services open() {
    return DarwinMail.Services.open(ServerConfig.defaults(dir));
  }


  @Test
  void newAccountsGetInboxAndTheSpecialUseFolders() {
    try (var s = open()) {
      s.directory().addDomain("example.test");
      Account a = s.directory().addAccount("Alice@Example.TEST", "pw".toCharArray());
      assertThat(a.address()).isEqualTo("alice@example.test");
      assertThat(s.mail().mailboxes(a.id())).extracting(Mailbox::name, Mailbox::specialUse)
          .containsExactlyInAnyOrder(
              org.assertj.core.groups.Tuple.tuple("INBOX", null),
              org.assertj.core.groups.Tuple.tuple("Sent", "Sent"),
              org.assertj.core.groups.Tuple.tuple("Drafts", "Drafts"),
              org.assertj.core.groups.Tuple.tuple("Trash", "Trash"),
              org.assertj.core.groups.Tuple.tuple("Junk", "Junk"),
              org.assertj.core.groups.Tuple.tuple("Archive", "Archive"));
      assertThat(s.directory().authenticate("alice@example.test", "pw".toCharArray())).isPresent();
      assertThat(s.directory().authenticate("alice@example.test", "wrong".toCharArray())).isEmpty();
      assertThat(s.directory().account("alice@example.test").orElseThrow().passwordHash()).startsWith("$argon2id$");
    }
  }

  @FunctionalInterface
  private interface Task {
    void run(int index) throws Exception;
  }

  /** Runs {@code task(0..n-1)} on n virtual threads released together; returns what they threw. */
  private static List<Throwable> concurrently(int n, Task task) throws InterruptedException {
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    List<Throwable> failures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    List<Thread> ts = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      int index = i;
      ts.add(Thread.ofVirtual().start(() -> {
        try {
          go.await();
          task.run(index);
        } catch (Throwable e) {
          failures.add(e);
        }
      }));
    }
    go.countDown();
    for (Thread t : ts) {
      t.join();
    }
    return failures;
  }

  /** a@example.test, with its domain. */
  private static Account accountA(DarwinMail.Services s) {
    s.directory().addDomain("example.test");
    return s.directory().addAccount("a@example.test", "pw".toCharArray());
  }

  private static long mailboxId(DarwinMail.Services s, Account a, String name) {
    return s.mail().mailbox(a.id(), name).orElseThrow().id();
  }

  /** An account's usage the slow way: the sizes of every message in every one of its mailboxes. */
  private static long summed(DarwinMail.Services s, long accountId) {
    return s.mail().mailboxes(accountId).stream()
        .flatMap(m -> s.mail().messages(m.id()).stream()).mapToLong(MessageRow::size).sum();
  }

  @Test
  void quotaUsageFollowsDeliveryAppendCopyExpungeAndMailboxDeletionAcrossARestart() throws Exception {
    long account;
    try (var s = open()) {
      Account a = accountA(s);
      account = a.id();
      long inbox = mailboxId(s, a, "INBOX");
      long sent = mailboxId(s, a, "Sent");
      long archive = mailboxId(s, a, "Archive");
      BlobRef small = Blobs.write(s.blobs(), "Subject: small\r\n\r\nhi\r\n");
      BlobRef big = Blobs.write(s.blobs(), "Subject: big\r\n\r\n" + "x".repeat(5000) + "\r\n");
      List<Long> uids = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        uids.add(s.mail().deliver(List.of(inbox), i % 2 == 0 ? small : big, Instant.now()).getFirst().uid());
      }
      s.mail().append(sent, big, Instant.now(), 0, Set.of());
      assertThat(s.mail().usage(a.id())).isEqualTo(2 * small.size() + 3 * big.size()).isEqualTo(summed(s, a.id()));
      s.mail().copy(inbox, uids, archive);
      assertThat(s.mail().usage(a.id())).isEqualTo(4 * small.size() + 5 * big.size()).isEqualTo(summed(s, a.id()));
      // Two sessions expunging the same message: its size is freed once.
      assertThat(concurrently(2, t -> s.mail().expunge(inbox, List.of(uids.get(1))))).isEmpty();
      assertThat(s.mail().usage(a.id())).isEqualTo(4 * small.size() + 4 * big.size()).isEqualTo(summed(s, a.id()));
      s.mail().deleteMailbox(archive);
      assertThat(s.mail().usage(a.id())).isEqualTo(2 * small.size() + 2 * big.size()).isEqualTo(summed(s, a.id()));
    }
    try (var s = open()) {
      assertThat(s.mail().usage(account)).isEqualTo(summed(s, account)).isPositive();
    }
  }

  @Test
  void upgradingADatabaseWithMessagesCountsTheirUsage() throws Exception {
    long account;
    long expected;
    try (var s = open()) {
      Account a = accountA(s);
      account = a.id();
      long inbox = mailboxId(s, a, "INBOX");
      long junk = mailboxId(s, a, "Junk");
      s.mail().deliver(List.of(inbox, junk), Blobs.write(s.blobs(), "Subject: one\r\n\r\n1\r\n"), Instant.now());
      s.mail().deliver(List.of(inbox), Blobs.write(s.blobs(), "Subject: two\r\n\r\n22\r\n"), Instant.now());
      expected = summed(s, a.id());
    }
    // The database as the previous release left it: no used_bytes column, migration 5 not applied.
    String url = "jdbc:derby:" + dir.resolve("db").toAbsolutePath();
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(url);
        java.sql.Statement st = c.createStatement()) {
      st.executeUpdate("ALTER TABLE mailboxes DROP COLUMN used_bytes");
      st.executeUpdate("DELETE FROM schema_version WHERE version = 5");
    }
    try {
      java.sql.DriverManager.getConnection(url + ";shutdown=true").close();
    } catch (java.sql.SQLException e) {
      assertThat(e.getSQLState()).isEqualTo("08006");
    }
    try (var s = open()) {
      assertThat(s.mail().usage(account)).isEqualTo(expected).isGreaterThan(0);
    }
  }

  @Test
  void twoSessionsExpungingTheSameMessagesAtOnceBothSucceedAndEachUidGoesOnce() throws Exception {
    try (var s = open()) {
      Account a = accountA(s);
      long inbox = mailboxId(s, a, "INBOX");
      BlobRef blob = Blobs.write(s.blobs(), "Subject: x\r\n\r\nbody\r\n");
      for (int round = 0; round < 30; round++) {
        List<Long> uids = new java.util.ArrayList<>();
        for (int k = 0; k < 5; k++) {
          uids.add(s.mail().deliver(List.of(inbox), blob, Instant.now()).getFirst().uid());
        }
        List<Long> removed = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        assertThat(concurrently(2, t -> {
          removed.addAll(s.mail().expunge(inbox, uids));
        })).isEmpty();
        assertThat(removed).containsExactlyInAnyOrderElementsOf(uids);
      }
      assertThat(s.mail().messages(inbox)).isEmpty();
    }
  }

  @Test
  void concurrentDeliveriesShareCommitsAndEachGetsItsOwnUidAndModseq() throws Exception {
    try (var s = open()) {
      Account a = accountA(s);
      Account b = s.directory().addAccount("b@example.test", "pw".toCharArray());
      long inboxA = mailboxId(s, a, "INBOX");
      long inboxB = mailboxId(s, b, "INBOX");
      long doomed = s.mail().createMailbox(b.id(), "Doomed", null).id();
      BlobRef blob = Blobs.write(s.blobs(), "Subject: x\r\n\r\nbody\r\n");
      int threads = 16;
      int each = 25;
      List<MessageRow> rows = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
      java.util.concurrent.CountDownLatch deleted = new java.util.concurrent.CountDownLatch(1);
      assertThat(concurrently(threads, n -> {
        for (int k = 0; k < each; k++) {
          if (n == 0 && k == 10) {
            s.mail().deleteMailbox(doomed);
            deleted.countDown();
          }
          if (n == 1 && k >= 10) {
            deleted.await();
            try {
              s.mail().deliver(List.of(doomed), blob, Instant.now());
            } catch (RefusedException | StoreException e) {
              refused.incrementAndGet();
            }
            continue;
          }
          rows.addAll(s.mail().deliver(n % 2 == 0 ? List.of(inboxA) : List.of(inboxA, inboxB), blob,
              Instant.now()));
        }
      })).isEmpty();
      // Thread 1 delivered into "Doomed" after it was deleted: those deliveries alone failed.
      assertThat(refused.get()).isEqualTo(each - 10);
      List<MessageRow> inA = s.mail().messages(inboxA);
      List<MessageRow> inB = s.mail().messages(inboxB);
      int toB = threads / 2 * each - (each - 10);
      assertThat(inA).hasSize(threads * each - (each - 10));
      assertThat(inB).hasSize(toB);
      for (List<MessageRow> box : List.of(inA, inB)) {
        assertThat(box).extracting(MessageRow::uid).doesNotHaveDuplicates().isSorted();
        assertThat(box).extracting(MessageRow::modseq).doesNotHaveDuplicates();
      }
      // What each caller was told is what is stored.
      assertThat(rows).extracting(MessageRow::mailboxId, MessageRow::uid).containsExactlyInAnyOrderElementsOf(
          java.util.stream.Stream.concat(inA.stream(), inB.stream())
              .map(r -> org.assertj.core.groups.Tuple.tuple(r.mailboxId(), r.uid())).toList());
      Mailbox boxA = s.mail().mailbox(inboxA).orElseThrow();
      assertThat(boxA.uidNext()).isEqualTo(inA.getLast().uid() + 1);
      assertThat(boxA.highestModseq()).isGreaterThanOrEqualTo(inA.stream().mapToLong(MessageRow::modseq).max()
          .orElseThrow());
    }
  }

  @Test
  void uidsStrictlyIncreaseAndAreNeverReusedAcrossExpungeAndRestart() throws Exception {
    long inbox;
    long validity;
    try (var s = open()) {
      Account a = accountA(s);
      Mailbox m = s.mail().mailbox(a.id(), "inbox").orElseThrow();
      inbox = m.id();
      validity = m.uidValidity();
      BlobRef b = Blobs.write(s.blobs(), "Subject: x\r\n\r\nhello\r\n");
      for (int i = 0; i < 3; i++) {
        s.mail().deliver(List.of(inbox), b, Instant.now());
      }
      assertThat(s.mail().messages(inbox)).extracting(MessageRow::uid).containsExactly(1L, 2L, 3L);
      assertThat(s.mail().expunge(inbox, List.of(3L, 2L))).containsExactlyInAnyOrder(2L, 3L);
    }
    try (var s = open()) {
      Mailbox m = s.mail().mailbox(inbox).orElseThrow();
      assertThat(m.uidValidity()).isEqualTo(validity);
      assertThat(m.uidNext()).isEqualTo(4);
      MessageRow r = s.mail().deliver(List.of(inbox), Blobs.write(s.blobs(), "again"), Instant.now()).getFirst();
      assertThat(r.uid()).isEqualTo(4);
      assertThat(r.modseq()).isGreaterThan(s.mail().messages(inbox).getFirst().modseq());
    }
  }

  @Test
  void oneBlobIsSharedByEveryRecipientMailbox() throws Exception {
    try (var s = open()) {
      Account a = accountA(s);
      Account b = s.directory().addAccount("b@example.test", "pw".toCharArray());
      long ia = mailboxId(s, a, "INBOX");
      long ib = mailboxId(s, b, "INBOX");
      BlobRef ref = Blobs.write(s.blobs(), "shared body");
      List<MessageRow> rows = s.mail().deliver(List.of(ib, ia), ref, Instant.now());
      assertThat(rows).extracting(MessageRow::mailboxId).containsExactly(ib, ia);
      assertThat(rows).extracting(MessageRow::blob).containsOnly(ref.hash());
      assertThat(Files.readString(s.blobs().path(ref.hash()))).isEqualTo("shared body");
    }
  }

  @Test
  void flagsKeywordsAndConditionalStore() throws Exception {
    try (var s = open()) {
      Account a = accountA(s);
      long inbox = mailboxId(s, a, "INBOX");
      MessageRow m = s.mail().deliver(List.of(inbox), Blobs.write(s.blobs(), "m"), Instant.now()).getFirst();
      var changed = s.mail().store(inbox, List.of(m.uid()), MailStore.FlagOp.ADD, Flags.SEEN | Flags.FLAGGED,
          Set.of("$Important"), null);
      assertThat(changed).hasSize(1);
      MessageRow after = s.mail().message(inbox, m.uid()).orElseThrow();
      assertThat(Flags.names(after.flags())).containsExactly("\\Seen", "\\Flagged");
      assertThat(after.keywords()).containsExactly("$Important");
      assertThat(after.modseq()).isGreaterThan(m.modseq());
      // UNCHANGEDSINCE older than the message's modseq: not changed (RFC 7162 §3.1.3).
      assertThat(s.mail().store(inbox, List.of(m.uid()), MailStore.FlagOp.REMOVE, Flags.SEEN, Set.of(), m.modseq()))
          .isEmpty();
      // Storing what is already there changes nothing and bumps nothing.
      assertThat(s.mail().store(inbox, List.of(m.uid()), MailStore.FlagOp.ADD, Flags.SEEN, Set.of(), null)).isEmpty();
    }
  }

  @Test
  void mailboxesRenameWithTheirChildrenAndInboxCannotBeDeleted() {
    try (var s = open()) {
      Account a = accountA(s);
      s.mail().createMailbox(a.id(), "Projects", null);
      s.mail().createMailbox(a.id(), "Projects/2026", null);
      assertThatThrownBy(() -> s.mail().createMailbox(a.id(), "Projects", null))
          .isInstanceOf(RefusedException.class);
      s.mail().renameMailbox(a.id(), "Projects", "Work");
      assertThat(s.mail().mailbox(a.id(), "Work/2026")).isPresent();
      assertThat(s.mail().mailbox(a.id(), "Projects/2026")).isEmpty();
      long inbox = mailboxId(s, a, "INBOX");
      assertThatThrownBy(() -> s.mail().deleteMailbox(inbox)).isInstanceOf(RefusedException.class);
    }
  }

  @Test
  void theSweepRemovesOnlyUnreferencedBlobs() throws Exception {
    try (var s = open()) {
      Account a = accountA(s);
      long inbox = mailboxId(s, a, "INBOX");
      BlobRef kept = Blobs.write(s.blobs(), "kept");
      s.mail().deliver(List.of(inbox), kept, Instant.now());
      BlobRef orphan = Blobs.write(s.blobs(), "orphan: crashed before its row");
      BlobStore.BlobWriter partial = s.blobs().create();
      partial.write(new byte[BlobStore.SMALL + 3]); // more than is buffered: a file in tmp/
      // a temporary file left by a crash mid-write
      int removed = s.blobs().sweep(s::blobReferenced, Duration.ZERO);
      assertThat(removed).isEqualTo(2);
      assertThat(s.blobs().exists(kept.hash())).isTrue();
      assertThat(s.blobs().exists(orphan.hash())).isFalse();
    }
  }
}
