package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.darwinmail.testing.AtOnce;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What {@link MailStore} (and through it IMAP, POP3 and delivery) relies on from a {@link MessageRepository}, run
 * on each engine by a subclass: UIDs strictly ascending and never reused, one new modseq per change (RFC 3501
 * §2.3.1.1, RFC 7162 §3.1), expunged UIDs kept for VANISHED, usage kept on the mailbox row, and the same under two
 * nodes writing to one mailbox at once.
 */
abstract class MessageRepositoryContract {
  private static final String BLOB_A = "aa".repeat(32);
  private static final String BLOB_B = "bb".repeat(32);
  private Engine engine;
  private SqlRunner node;
  private MessageRepository r;
  private long account;

  abstract Engine engine();

  abstract MessageRepository repository(SqlRunner node);

  @BeforeEach
  void open() {
    engine = engine();
    node = engine.node();
    r = repository(node);
    DirectoryRepository d = new SqlDirectoryRepository(node);
    d.addDomain("a.test");
    account = d.addAccount("alice@a.test", "h", List.of()).id();
  }

  @AfterEach
  void close() throws Exception {
    engine.close();
  }

  private static MessageRepository.NewMessage msg(long mailbox, String blob, long size) {
    return new MessageRepository.NewMessage(mailbox, new BlobRef(blob, size),
        Instant.now().truncatedTo(ChronoUnit.MILLIS), 0, Set.of());
  }

  private static List<Long> uids(List<MessageRow> rows) {
    return rows.stream().map(MessageRow::uid).toList();
  }

  @Test
  void mailboxesHaveFreshUidValiditiesAndAreFoundByNameAndId() {
    Mailbox inbox = r.createMailbox(account, Mailbox.INBOX, null);
    Mailbox sent = r.createMailbox(account, "Sent", "Sent");
    assertThat(sent.uidValidity()).isGreaterThan(inbox.uidValidity());
    assertThat(inbox.uidNext()).isEqualTo(1);
    assertThat(inbox.subscribed()).isTrue();
    assertThat(r.mailboxes(account)).extracting(Mailbox::name).containsExactly("INBOX", "Sent");
    assertThat(r.mailbox(account, "Sent")).contains(sent);
    assertThat(r.mailbox(sent.id())).contains(sent);
    assertThat(r.mailbox(account, "nothing")).isEmpty();
    assertThat(r.highestModseq(sent.id())).isEqualTo(1);
    assertThat(r.highestModseq(-1)).isEqualTo(-1);
    assertThatThrownBy(() -> r.createMailbox(account, "Sent", null)).isInstanceOf(RefusedException.class)
        .hasMessage("mailbox exists: Sent");
  }

  @Test
  void aRenameTakesTheChildrenAlongAndOnlyThem() {
    r.createMailbox(account, "a_b", null);
    r.createMailbox(account, "a_b/c", null);
    r.createMailbox(account, "axb/d", null); // "_" is no wildcard
    r.createMailbox(account, "a_bc", null);
    r.renameMailbox(account, "a_b", "z");
    assertThat(r.mailboxes(account)).extracting(Mailbox::name).containsExactly("a_bc", "axb/d", "z", "z/c");
    assertThatThrownBy(() -> r.renameMailbox(account, "nothing", "y")).isInstanceOf(RefusedException.class)
        .hasMessage("no such mailbox: nothing");
    assertThatThrownBy(() -> r.renameMailbox(account, "z", "a_bc")).isInstanceOf(RefusedException.class)
        .hasMessage("mailbox exists: a_bc");
  }

  @Test
  void aDeletedSubscribedMailboxLeavesItsNameUntilCreatedAgainOrDropped() {
    Mailbox inbox = r.createMailbox(account, Mailbox.INBOX, null);
    Mailbox a = r.createMailbox(account, "a", null);
    Mailbox b = r.createMailbox(account, "b", null);
    r.setSubscribed(b.id(), false);
    assertThat(r.mailbox(b.id()).orElseThrow().subscribed()).isFalse();
    r.deleteMailbox(a.id());
    r.deleteMailbox(b.id());
    assertThat(r.orphanSubscriptions(account)).containsExactly("a");
    assertThatThrownBy(() -> r.deleteMailbox(inbox.id())).isInstanceOf(RefusedException.class);
    assertThatThrownBy(() -> r.deleteMailbox(a.id())).isInstanceOf(RefusedException.class);
    r.createMailbox(account, "a", null);
    assertThat(r.orphanSubscriptions(account)).isEmpty();
    Mailbox c = r.createMailbox(account, "c", null);
    r.deleteMailbox(c.id());
    assertThat(r.dropOrphanSubscription(account, "c")).isTrue();
    assertThat(r.dropOrphanSubscription(account, "c")).isFalse();
  }

  @Test
  void appendedMessagesTakeAscendingUidsAndModseqsAndCountInTheUsage() {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    Mailbox other = r.createMailbox(account, "other", null);
    List<MessageRow> rows = r.append(List.of(msg(box.id(), BLOB_A, 10), msg(other.id(), BLOB_A, 10),
        msg(box.id(), BLOB_B, 20)));
    assertThat(rows).extracting(MessageRow::mailboxId).containsExactly(box.id(), other.id(), box.id());
    assertThat(uids(rows)).containsExactly(1L, 1L, 2L);
    assertThat(rows).extracting(MessageRow::modseq).containsExactly(2L, 2L, 3L);
    MessageRow flagged = r.append(List.of(new MessageRepository.NewMessage(box.id(), new BlobRef(BLOB_B, 5),
        Instant.now().truncatedTo(ChronoUnit.MILLIS), Flags.SEEN, Set.of("$Label1", "work")))).getFirst();
    assertThat(flagged.uid()).isEqualTo(3);
    assertThat(r.message(box.id(), 3)).contains(flagged);
    assertThat(r.messages(box.id())).containsExactly(rows.get(0), rows.get(2), flagged);
    List<MessageRow> each = new java.util.ArrayList<>();
    r.eachMessage(box.id(), each::add);
    assertThat(each).as("one at a time, the same rows in the same order").containsExactly(rows.get(0), rows.get(2),
        flagged);
    assertThat(r.messages(box.id(), List.of(3L, 1L, 99L))).containsExactly(rows.get(0), flagged);
    Mailbox now = r.mailbox(box.id()).orElseThrow();
    assertThat(now.uidNext()).isEqualTo(4);
    assertThat(now.highestModseq()).isEqualTo(4);
    assertThat(r.usage(account)).isEqualTo(45);
    assertThat(r.blobReferenced(BLOB_B)).isTrue();
    assertThat(r.blobReferenced("cc".repeat(32))).isFalse();
    assertThatThrownBy(() -> r.append(List.of(msg(-1, BLOB_A, 1)))).isInstanceOf(RefusedException.class);
  }

  @Test
  void theBlobsInUseAreReadARangeOfTwoHexDigitsAtATime() {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    String first = "00" + "1".repeat(62);
    String nine = "09" + "f".repeat(62);
    String ten = "0a" + "0".repeat(62);
    String last = "ff" + "e".repeat(62);
    r.append(List.of(msg(box.id(), first, 1), msg(box.id(), nine, 1), msg(box.id(), nine, 1), msg(box.id(), ten, 1),
        msg(box.id(), BLOB_A, 1), msg(box.id(), last, 1)));
    assertThat(r.blobsReferenced("00")).containsExactly(first);
    assertThat(r.blobsReferenced("09")).as("a blob two messages use, once; not the next range's").containsExactly(nine);
    assertThat(r.blobsReferenced("0a")).containsExactly(ten);
    assertThat(r.blobsReferenced("aa")).containsExactly(BLOB_A);
    assertThat(r.blobsReferenced("ff")).as("the last range has no upper bound").containsExactly(last);
    assertThat(r.blobsReferenced("ab")).isEmpty();
    r.expunge(box.id(), List.of(4L));
    assertThat(r.blobsReferenced("0a")).isEmpty();
    assertThatThrownBy(() -> r.blobsReferenced("0")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> r.blobsReferenced("0' OR '1")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aFlagChangeTakesOneModseqAndSkipsWhatItLeavesAloneOrWhatChangedSince() {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    List<MessageRow> rows = r.append(List.of(msg(box.id(), BLOB_A, 1), msg(box.id(), BLOB_A, 1),
        msg(box.id(), BLOB_A, 1)));
    long before = r.highestModseq(box.id());
    MessageRepository.Changes<MessageRow> c = r.store(box.id(), uids(rows), null,
        m -> m.uid() == 2 ? null : new MessageRepository.Flagging(Flags.SEEN, Set.of("work")));
    assertThat(c.modseq()).isEqualTo(before + 1);
    assertThat(uids(c.items())).containsExactly(1L, 3L);
    assertThat(r.message(box.id(), 1).orElseThrow().keywords()).containsExactly("work");
    assertThat(r.message(box.id(), 2).orElseThrow().modseq()).isEqualTo(rows.get(1).modseq());
    assertThat(r.changedSince(box.id(), before)).extracting(MessageRow::uid).containsExactly(1L, 3L);
    // RFC 7162 §3.1.3: UNCHANGEDSINCE lower than a message's modseq leaves it alone
    MessageRepository.Changes<MessageRow> d = r.store(box.id(), uids(rows), before,
        m -> new MessageRepository.Flagging(0, Set.of()));
    assertThat(uids(d.items())).containsExactly(2L);
    assertThat(r.store(box.id(), List.of(99L), null, m -> new MessageRepository.Flagging(0, Set.of())).modseq())
        .isZero();
  }

  @Test
  void anExpungeRecordsTheUidsUnderOneModseqAndFreesTheirBytes() {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    List<MessageRow> rows = r.append(List.of(msg(box.id(), BLOB_A, 10), msg(box.id(), BLOB_B, 20),
        msg(box.id(), BLOB_A, 30)));
    long before = r.highestModseq(box.id());
    MessageRepository.Changes<Long> gone = r.expunge(box.id(), List.of(1L, 3L, 7L));
    assertThat(gone.items()).containsExactly(1L, 3L);
    assertThat(gone.modseq()).isEqualTo(before + 1);
    assertThat(r.expungedSince(box.id(), before)).containsExactly(1L, 3L);
    assertThat(r.expungedSince(box.id(), gone.modseq())).isEmpty();
    assertThat(r.usage(account)).isEqualTo(20);
    assertThat(r.expunge(box.id(), List.of(1L)).modseq()).isZero();
    assertThat(r.blobReferenced(BLOB_A)).isFalse();
    // a UID is never handed out again
    assertThat(r.append(List.of(msg(box.id(), BLOB_A, 1))).getFirst().uid()).isEqualTo(rows.size() + 1);
  }

  private long expungedRows(long mailbox) {
    return node.read(c -> {
      try (var ps = c.prepareStatement("SELECT COUNT(*) FROM expunged WHERE mailbox_id = ?")) {
        ps.setLong(1, mailbox);
        try (var rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }
    });
  }

  /**
   * Expunged UIDs are kept as runs of consecutive UIDs (V019): a POP3 client deleting the 1,000 messages it
   * downloaded writes one row, not 1,000. A run never spans a UID removed earlier, so VANISHED (EARLIER) since a
   * modseq (RFC 7162 §3.2.10) names exactly the UIDs removed after it.
   */
  @Test
  void expungedUidsAreKeptAsRunsThatNameExactlyWhatWasRemovedSinceAModseq() {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    List<MessageRepository.NewMessage> ten = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      ten.add(msg(box.id(), BLOB_A, 10));
    }
    r.append(ten);
    long start = r.highestModseq(box.id());
    long first = r.expunge(box.id(), List.of(4L)).modseq();
    // 3 and 5 are neighbours now (4 went), but 4 went earlier: three runs, 3, 5-7 and 9 (8 stays).
    long second = r.expunge(box.id(), List.of(3L, 5L, 6L, 7L, 9L)).modseq();
    assertThat(r.expungedSince(box.id(), start)).containsExactly(3L, 4L, 5L, 6L, 7L, 9L);
    assertThat(r.expungedSince(box.id(), first)).containsExactly(3L, 5L, 6L, 7L, 9L);
    assertThat(r.expungedSince(box.id(), second)).isEmpty();
    assertThat(expungedRows(box.id())).isEqualTo(4);
    long third = r.expunge(box.id(), List.of(1L, 2L, 8L, 10L)).modseq();
    assertThat(r.expungedSince(box.id(), second)).containsExactly(1L, 2L, 8L, 10L);
    assertThat(r.expungedSince(box.id(), third)).isEmpty();
    assertThat(expungedRows(box.id())).isEqualTo(7);

    Mailbox pop = r.createMailbox(account, "pop", null);
    List<MessageRepository.NewMessage> many = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      many.add(msg(pop.id(), BLOB_B, 10));
    }
    List<Long> all = uids(r.append(many));
    long before = r.highestModseq(pop.id());
    assertThat(r.expunge(pop.id(), all).items()).hasSize(1000);
    assertThat(expungedRows(pop.id())).isEqualTo(1);
    assertThat(r.expungedSince(pop.id(), before)).containsExactlyElementsOf(all);
  }

  @Test
  void aCopyGetsNewUidsInTheTargetAndKeepsFlagsAndBlobs() {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    Mailbox to = r.createMailbox(account, "to", null);
    r.append(List.of(msg(to.id(), BLOB_B, 5)));
    List<MessageRow> rows = r.append(List.of(msg(box.id(), BLOB_A, 10), msg(box.id(), BLOB_B, 20)));
    r.store(box.id(), List.of(2L), null, m -> new MessageRepository.Flagging(Flags.FLAGGED, Set.of("x")));
    List<MessageRow> copies = r.copy(box.id(), List.of(2L, 1L, 9L), to.id());
    assertThat(uids(copies)).containsExactly(2L, 3L);
    assertThat(copies).extracting(MessageRow::blob).containsExactly(BLOB_A, BLOB_B);
    assertThat(copies.get(1).flags()).isEqualTo(Flags.FLAGGED);
    assertThat(copies.get(1).keywords()).containsExactly("x");
    assertThat(copies.get(0).internalDate()).isEqualTo(rows.get(0).internalDate());
    assertThat(r.usage(account)).isEqualTo(65);
  }

  /**
   * The save date (RFC 8514, V009): when the row was written, apart from the internal date APPEND gave; a copy keeps
   * the internal date and gets its own save date; flag changes keep both; reading gives back what was written.
   */
  @Test
  void aMessageKeepsItsSaveDateApartFromItsInternalDate() throws Exception {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    Mailbox to = r.createMailbox(account, "to", null);
    Instant old = Instant.parse("2001-02-01T12:00:00Z");
    Instant before = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    MessageRow a = r.append(List.of(new MessageRepository.NewMessage(box.id(), new BlobRef(BLOB_A, 10), old, 0,
        Set.of()))).getFirst();
    assertThat(a.internalDate()).isEqualTo(old);
    assertThat(a.saveDate()).isBetween(before, Instant.now());
    assertThat(r.message(box.id(), a.uid()).orElseThrow().saveDate()).isEqualTo(a.saveDate());
    assertThat(r.messages(box.id()).getFirst().internalDate()).isEqualTo(old);
    Thread.sleep(5);
    MessageRow copy = r.copy(box.id(), List.of(a.uid()), to.id()).getFirst();
    assertThat(copy.internalDate()).isEqualTo(old);
    assertThat(copy.saveDate()).isAfter(a.saveDate());
    assertThat(r.messages(to.id()).getFirst().saveDate()).isEqualTo(copy.saveDate());
    MessageRow flagged = r.store(box.id(), List.of(a.uid()), null,
        m -> new MessageRepository.Flagging(Flags.SEEN, Set.of())).items().getFirst();
    assertThat(flagged.saveDate()).isEqualTo(a.saveDate());
  }

  @Test
  void theRecentMarkMovesOnlyFromTheValueRead() {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    assertThat(r.recentUid(box.id())).isZero();
    assertThat(r.moveRecentMark(box.id(), 0, 5)).isTrue();
    assertThat(r.moveRecentMark(box.id(), 0, 7)).isFalse();
    assertThat(r.recentUid(box.id())).isEqualTo(5);
  }

  @Test
  void journaledMessagesAndTheAppliedMarkCommitTogether() {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    long start = r.intakeApplied();
    r.appendJournaled(List.of(msg(box.id(), BLOB_A, 1), msg(box.id(), BLOB_A, 1)), start + 2);
    assertThat(r.intakeApplied()).isEqualTo(start + 2);
    assertThatThrownBy(() -> r.appendJournaled(List.of(msg(box.id(), BLOB_A, 1), msg(-1, BLOB_A, 1)), start + 3))
        .isInstanceOf(RefusedException.class);
    assertThat(r.intakeApplied()).isEqualTo(start + 2);
    assertThat(r.messages(box.id())).hasSize(2);
    assertThat(r.accountExists(account)).isTrue();
    assertThat(r.accountExists(-1)).isFalse();
  }

  /**
   * RFC 3501 §6.4.6: +FLAGS adds to the flags a message has. Two sessions (or nodes) adding different flags to one
   * message at once both keep theirs: the change is decided on the rows read under the mailbox row's lock.
   */
  @Test
  void twoNodesAddingDifferentFlagsToOneMessageAtOnceKeepBoth() throws Exception {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    MessageRepository other = repository(engine.node());
    ExecutorService ex = Executors.newFixedThreadPool(2);
    int lost = 0;
    try {
      for (int i = 0; i < 100; i++) {
        long uid = r.append(List.of(msg(box.id(), BLOB_A, 1))).getFirst().uid();
        java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
        List<Future<?>> fs = new ArrayList<>();
        for (var node : List.of(java.util.Map.entry(r, Flags.SEEN), java.util.Map.entry(other, Flags.FLAGGED))) {
          fs.add(ex.submit(() -> {
            together.await();
            return node.getKey().store(box.id(), List.of(uid), null,
                m -> new MessageRepository.Flagging(m.flags() | node.getValue(), m.keywords()));
          }));
        }
        for (Future<?> f : fs) {
          f.get();
        }
        if (r.message(box.id(), uid).orElseThrow().flags() != (Flags.SEEN | Flags.FLAGGED)) {
          lost++;
        }
      }
    } finally {
      ex.shutdownNow();
    }
    assertThat(lost).as("rounds where one of the two flags was lost").isZero();
  }

  /**
   * Two nodes appending to one mailbox at once, while each also sets flags and expunges: every UID is handed out
   * once and in order, every change has a modseq of its own, and the mailbox row accounts for all of them.
   */
  @Test
  void twoNodesAppendingFlaggingAndExpungingInOneMailboxGetDistinctUidsAndModseqs() throws Exception {
    Mailbox box = r.createMailbox(account, Mailbox.INBOX, null);
    MessageRepository other = repository(engine.node());
    int n = 60;
    List<Long> uids = Collections.synchronizedList(new ArrayList<>());
    List<Long> modseqs = Collections.synchronizedList(new ArrayList<>());
    List<Long> expunged = Collections.synchronizedList(new ArrayList<>());
    AtOnce.run(List.of(r, other), node -> {
      for (int i = 0; i < n; i++) {
        MessageRow row = node.append(List.of(msg(box.id(), BLOB_A, 1))).getFirst();
        uids.add(row.uid());
        modseqs.add(row.modseq());
        long flagged = node.store(box.id(), List.of(row.uid()), null,
            m -> new MessageRepository.Flagging(Flags.SEEN, Set.of())).modseq();
        if (flagged != 0) {
          modseqs.add(flagged);
        }
        if (i % 3 == 0) {
          MessageRepository.Changes<Long> gone = node.expunge(box.id(), List.of(row.uid(), row.uid() - 1));
          if (gone.modseq() != 0) {
            modseqs.add(gone.modseq());
            expunged.addAll(gone.items());
          }
        }
      }
      return null;
    });
    assertThat(new HashSet<>(uids)).hasSize(2 * n);
    assertThat(uids).allMatch(u -> u >= 1 && u <= 2 * n);
    assertThat(new HashSet<>(modseqs)).hasSameSizeAs(modseqs);
    assertThat(new HashSet<>(expunged)).hasSameSizeAs(expunged);
    Mailbox now = r.mailbox(box.id()).orElseThrow();
    assertThat(now.uidNext()).isEqualTo(2 * n + 1);
    assertThat(now.highestModseq()).isEqualTo(1 + modseqs.size());
    assertThat(r.messages(box.id())).hasSize(2 * n - expunged.size());
    assertThat(r.expungedSince(box.id(), 0)).containsExactlyInAnyOrderElementsOf(expunged);
    assertThat(r.usage(account)).isEqualTo(2 * n - expunged.size());
  }
}
