package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.sql.PreparedStatement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The intake journal on a real Derby database and real files: what was journaled is read back at once, stored
 * once, and what a crash left journaled but not stored is stored at the next start, once.
 */
class IntakeTest {
  private static final long SEGMENT = 64 * 1024;

  @TempDir
  Path dir;

  /** The store's parts, opened as the server opens them, with small segments. */
  private final class Store implements AutoCloseable {
    final Database db = Database.open(dir);
    final BlobStore blobs = new BlobStore(dir.resolve("blobs"));
    final MailStore mail;
    final Directory directory;
    final Intake intake;

    Store(boolean withIntake) {
      mail = new MailStore(new SqlMessageRepository(db), blobs, new MailboxEvents(),
          withIntake ? dir.resolve("intake") : null, SEGMENT);
      directory = new Directory(db, mail);
      intake = mail.intake();
    }

    @Override
    public void close() {
      if (intake != null) {
        intake.close();
      }
      db.close();
    }
  }

  private static BlobStore.Small small(String text) throws Exception {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    return new BlobStore.Small(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)), b);
  }

  private static String body(int i) {
    return "Subject: message " + i + "\r\n\r\n" + ("line " + i + "\r\n").repeat(200 + 97 * i % 700);
  }

  private static List<String> bodies(Store s, long mailboxId) throws Exception {
    List<String> out = new ArrayList<>();
    for (MessageRow r : s.mail.messages(mailboxId)) {
      try (var in = s.mail.open(r)) {
        out.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  private static List<Path> segments(Path intake) throws Exception {
    try (Stream<Path> files = Files.list(intake)) {
      return files.filter(p -> p.toString().endsWith(".seg")).sorted().toList();
    }
  }

  @Test
  void journaledMessagesAreInTheirMailboxesForTheNextReadAndAppliedSegmentsGo() throws Exception {
    int n = 60;
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      expected.add(body(i));
    }
    try (Store s = new Store(true)) {
      s.directory.addDomain("example.test");
      Account a = s.directory.addAccount("a@example.test", "pw".toCharArray());
      Account b = s.directory.addAccount("b@example.test", "pw".toCharArray());
      long inboxA = s.mail.mailbox(a.id(), "INBOX").orElseThrow().id();
      long junkB = s.mail.mailbox(b.id(), "Junk").orElseThrow().id();
      List<Intake.Target> both = List.of(new Intake.Target(a.id(), inboxA), new Intake.Target(b.id(), junkB));
      // Six writers at once: their records share writes, and 60 messages of 1-8 KB fill several 64 KB segments.
      List<Thread> writers = new ArrayList<>();
      List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      for (int w = 0; w < 6; w++) {
        int first = w;
        writers.add(Thread.ofVirtual().start(() -> {
          try {
            for (int i = first; i < n; i += 6) {
              s.intake.submit(both, Instant.now(), small(expected.get(i)));
            }
          } catch (Throwable e) {
            failures.add(e);
          }
        }));
      }
      for (Thread t : writers) {
        t.join();
      }
      assertThat(failures).isEmpty();
      // No waiting here: a read that starts after the submissions returned sees every message.
      assertThat(bodies(s, inboxA)).containsExactlyInAnyOrderElementsOf(expected);
      assertThat(bodies(s, junkB)).containsExactlyInAnyOrderElementsOf(expected);
      assertThat(s.mail.usage(a.id())).isEqualTo(expected.stream().mapToLong(String::length).sum());
      assertThat(s.mail.intakeApplied()).isEqualTo(n);
      // The segments whose records are all stored are reused or deleted (in the background, after their blobs are
      // forced): the current one and two spares remain.
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (segments(dir.resolve("intake")).size() > 3 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(segments(dir.resolve("intake")).size()).isLessThanOrEqualTo(3);
    }
    try (Store s = new Store(true)) {
      assertThat(s.mail.intakeApplied()).isEqualTo(n);
      long inboxA = s.mail.mailbox(s.directory.account("a@example.test").orElseThrow().id(), "INBOX")
          .orElseThrow().id();
      assertThat(bodies(s, inboxA)).hasSize(n);
    }
  }

  /**
   * The applier waits a moment for company before storing a message (one transaction for several), but a message
   * that arrives alone still reaches its mailbox's watchers (an IMAP IDLE client) without any read asking, and a
   * read that comes while it waits does not wait for the rest of that moment's company.
   */
  @Test
  void aMessageArrivingAloneReachesItsWatchersWithoutAReadAndAReadGetsItAtOnce() throws Exception {
    try (Store s = new Store(true)) {
      s.directory.addDomain("example.test");
      Account a = s.directory.addAccount("a@example.test", "pw".toCharArray());
      long inbox = s.mail.mailbox(a.id(), "INBOX").orElseThrow().id();
      List<Intake.Target> to = List.of(new Intake.Target(a.id(), inbox));
      java.util.concurrent.CountDownLatch told = new java.util.concurrent.CountDownLatch(1);
      try (AutoCloseable watch = s.mail.events().subscribe(inbox, modseq -> told.countDown())) {
        s.intake.submit(to, Instant.now(), small(body(1)));
        assertThat(told.await(30, java.util.concurrent.TimeUnit.SECONDS)).as("watcher told of the message").isTrue();
      }
      assertThat(s.mail.intakeApplied()).isEqualTo(1);
      // A read right after a second lone message: it is there.
      s.intake.submit(to, Instant.now(), small(body(2)));
      assertThat(bodies(s, inbox)).containsExactly(body(1), body(2));
    }
  }

  /**
   * A crash after the journal write and before the rows: the database is put back to "4 of 10 stored" (rows,
   * blobs and the applied number removed as if never made), the segment as it was on disk with a torn record
   * after the last one. The next start stores the other 6, once each, and skips the torn record.
   */
  @Test
  void aStartStoresWhatACrashLeftJournaledOnceEachAndIgnoresATornRecord() throws Exception {
    Path intake = dir.resolve("intake");
    Path saved = dir.resolve("saved");
    long account;
    long inbox;
    long projects;
    List<String> expected = new ArrayList<>();
    try (Store s = new Store(true)) {
      s.directory.addDomain("example.test");
      Account a = s.directory.addAccount("a@example.test", "pw".toCharArray());
      account = a.id();
      inbox = s.mail.mailbox(a.id(), "INBOX").orElseThrow().id();
      projects = s.mail.createMailbox(a.id(), "Projects", null).id();
      for (int i = 0; i < 10; i++) {
        expected.add("Subject: message " + i + "\r\n\r\nhello " + i + "\r\n");
        // The last one goes to a folder the administrator deletes before the restart: it lands in INBOX.
        long to = i == 9 ? projects : inbox;
        s.intake.submit(List.of(new Intake.Target(a.id(), to)), Instant.now(), small(expected.get(i)));
      }
      s.mail.awaitIntake();
      List<Path> segs = segments(intake);
      assertThat(segs).isNotEmpty();
      Path withRecords = segs.stream().filter(p -> {
        try {
          return !Intake.read(p).isEmpty();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }).findFirst().orElseThrow();
      assertThat(Intake.read(withRecords)).hasSize(10);
      Files.createDirectories(saved);
      saved = Files.copy(withRecords, saved.resolve(withRecords.getFileName()));
    }
    try (Store s = new Store(true)) {
      // A clean stop forced the blobs and removed the segments; a start that takes no mail writes none.
      assertThat(segments(intake)).isEmpty();
      assertThat(segments(intake).stream().filter(p -> {
        try {
          return !Intake.read(p).isEmpty();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      })).isEmpty();
    }
    // Back to "4 stored": rows, blobs and the applied number of the other six removed.
    try (Store s = new Store(false)) {
      for (MessageRow r : s.mail.messages(inbox)) {
        if (r.uid() > 4) {
          Files.delete(s.blobs.path(r.blob()));
        } else if (r.uid() == 2) {
          // Stored and applied, but its blob never reached the disk whole: same size, other bytes.
          Files.write(s.blobs.path(r.blob()), new byte[(int) r.size()]);
        }
      }
      for (MessageRow r : s.mail.messages(projects)) {
        Files.delete(s.blobs.path(r.blob()));
      }
      s.db.tx(c -> {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM messages WHERE uid > 4 OR mailbox_id = ?")) {
          ps.setLong(1, projects);
          ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE intake SET applied_seq = 4")) {
          ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement(
            "UPDATE mailboxes SET used_bytes = (SELECT COALESCE(SUM(m.size), 0) FROM messages m"
                + " WHERE m.mailbox_id = mailboxes.id)")) {
          ps.executeUpdate();
        }
        return null;
      });
      s.mail.deleteMailbox(projects);
    }
    for (Path p : segments(intake)) {
      Files.delete(p);
    }
    Path restored = intake.resolve(saved.getFileName());
    Files.copy(saved, restored);
    long end = Intake.read(restored).stream().mapToLong(e -> e.recordSize()).sum();
    try (FileChannel ch = FileChannel.open(restored, StandardOpenOption.WRITE)) {
      // A record cut short by the crash: a valid header, a few bytes of its payload.
      ByteBuffer torn = ByteBuffer.allocate(40).putInt(0x444d4932).putInt(5000).putLong(11).putInt(1234);
      ch.write(torn.flip(), end);
    }
    try (Store s = new Store(true)) {
      assertThat(s.mail.intakeApplied()).isEqualTo(10);
      List<MessageRow> rows = s.mail.messages(inbox);
      assertThat(rows).hasSize(10);
      assertThat(bodies(s, inbox)).containsExactlyInAnyOrderElementsOf(expected);
      assertThat(s.mail.usage(account)).isEqualTo(expected.stream().mapToLong(String::length).sum());
      assertThat(Files.exists(restored)).isFalse();
    }
  }

  /**
   * A segment whose records are all stored is reused under a new number (the same file: its blocks are not written
   * again): what it held before still follows its new records on disk, and none of it is read back. Checked on the
   * segments as a crash would leave them: read in order they hold each journaled message once, in order, and a
   * start on them stores nothing twice.
   */
  @Test
  void aReusedSegmentReadsBackAsItsNewRecordsOnlyAndAStartStoresNothingTwice() throws Exception {
    Path intake = dir.resolve("intake");
    Path copies = Files.createDirectories(dir.resolve("copies"));
    int n = 120;
    List<String> expected = new ArrayList<>();
    java.util.Map<Object, java.util.Set<String>> namesOfFile = new java.util.HashMap<>();
    long inbox;
    try (Store s = new Store(true)) {
      s.directory.addDomain("example.test");
      Account a = s.directory.addAccount("a@example.test", "pw".toCharArray());
      inbox = s.mail.mailbox(a.id(), "INBOX").orElseThrow().id();
      for (int i = 0; i < n; i++) {
        expected.add(body(i));
        s.intake.submit(List.of(new Intake.Target(a.id(), inbox)), Instant.now(), small(expected.get(i)));
        if (i % 10 == 9) {
          s.mail.awaitIntake(); // the applier keeps up, so that segments are reused rather than made
        }
        for (Path p : segments(intake)) {
          try {
            namesOfFile.computeIfAbsent(Files.getAttribute(p, "unix:ino"), k -> new java.util.HashSet<>())
                .add(p.getFileName().toString());
          } catch (java.nio.file.NoSuchFileException gone) {
            // renamed or deleted meanwhile
          }
        }
      }
      s.mail.awaitIntake();
      assertThat(namesOfFile.values()).as("a segment file seen under two numbers").anyMatch(names -> names.size() > 1);
      for (Path p : segments(intake)) {
        try {
          Files.copy(p, copies.resolve(p.getFileName()));
        } catch (java.nio.file.NoSuchFileException gone) {
          // reused or deleted meanwhile: its records were stored
        }
      }
    }
    List<Long> seqs = new ArrayList<>();
    try (Stream<Path> files = Files.list(copies)) {
      for (Path p : files.sorted().toList()) {
        Intake.read(p).forEach(e -> seqs.add(e.seq()));
      }
    }
    assertThat(seqs).isNotEmpty().isSorted().doesNotHaveDuplicates();
    assertThat(seqs.getLast()).isEqualTo(n);
    try (Stream<Path> files = Files.list(copies)) {
      for (Path p : files.toList()) {
        Files.copy(p, intake.resolve(p.getFileName()));
      }
    }
    try (Store s = new Store(true)) {
      assertThat(s.mail.intakeApplied()).isEqualTo(n);
      assertThat(bodies(s, inbox)).containsExactlyElementsOf(expected);
    }
  }

  /** A record as the release before segments were reused wrote it (DMI1: the CRC covers seq and payload). */
  private static byte[] recordOfOlderRelease(long seq, long account, long mailbox, String text) throws Exception {
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    ByteBuffer payload = ByteBuffer.allocate(8 + 4 + 16 + 32 + body.length).putLong(System.currentTimeMillis())
        .putInt(1).putLong(account).putLong(mailbox).put(MessageDigest.getInstance("SHA-256").digest(body)).put(body);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(ByteBuffer.allocate(8).putLong(0, seq));
    crc.update(payload.array());
    return ByteBuffer.allocate(20 + payload.capacity()).putInt(0x444d4931).putInt(payload.capacity()).putLong(seq)
        .putInt((int) crc.getValue()).put(payload.array()).array();
  }

  /**
   * An upgrade after a crash of the release before segments were reused: what its segment ({@code <number>.seg},
   * DMI1 records, zeros after them) journaled is stored at the first start, once each.
   */
  @Test
  void aSegmentLeftByTheOlderReleaseIsStoredAfterAnUpgrade() throws Exception {
    long account;
    long inbox;
    try (Store s = new Store(true)) {
      s.directory.addDomain("example.test");
      Account a = s.directory.addAccount("a@example.test", "pw".toCharArray());
      account = a.id();
      inbox = s.mail.mailbox(a.id(), "INBOX").orElseThrow().id();
    }
    Path old = dir.resolve("intake").resolve("0000000000000007.seg");
    java.io.ByteArrayOutputStream segment = new java.io.ByteArrayOutputStream();
    for (int i = 1; i <= 3; i++) {
      segment.write(recordOfOlderRelease(i, account, inbox, body(i)));
    }
    segment.write(new byte[4096]);
    Files.write(old, segment.toByteArray());
    try (Store s = new Store(true)) {
      assertThat(s.mail.intakeApplied()).isEqualTo(3);
      assertThat(bodies(s, inbox)).containsExactly(body(1), body(2), body(3));
      assertThat(Files.exists(old)).isFalse();
    }
  }

  /** A file in the journal's folder that is not named as a segment stops nothing and is left as it is. */
  @Test
  void aStrayFileInTheJournalFolderIsLeftAloneAndTheStartGoesOn() throws Exception {
    Path intake = Files.createDirectories(dir.resolve("intake"));
    Path notes = Files.writeString(intake.resolve("notes.seg"), "not a segment");
    Path badSalt = Files.writeString(intake.resolve("0000000000000001-nothexnothexnoth.seg"), "x");
    try (Store s = new Store(true)) {
      s.directory.addDomain("example.test");
      Account a = s.directory.addAccount("a@example.test", "pw".toCharArray());
      long inbox = s.mail.mailbox(a.id(), "INBOX").orElseThrow().id();
      s.intake.submit(List.of(new Intake.Target(a.id(), inbox)), Instant.now(), small(body(1)));
      assertThat(bodies(s, inbox)).containsExactly(body(1));
    }
    assertThat(notes).hasContent("not a segment");
    assertThat(badSalt).hasContent("x");
  }
  /** Takes the name of the message's blob with a folder that is not empty: writing the blob fails, even for root. */
  private static Path block(BlobStore blobs, String text) throws Exception {
    Path p = blobs.path(small(text).hash());
    Files.createDirectories(p.resolve("taken"));
    return p;
  }

  /**
   * The applier cannot write (as on a full disk): a read answers at once with what is stored (it waited 30 s),
   * new messages are refused, a stop is prompt (it never ended) and leaves the messages journaled, a start on the
   * still-failing store goes on (it failed with "cannot open the intake journal"), and when writing works again
   * each message is stored once, without a restart.
   */
  @Test
  void whenTheApplierCannotWriteReadsAndStopsDoNotWaitAStartGoesOnAndEachMessageIsStoredOnceLater() throws Exception {
    List<String> expected = List.of(body(1), body(2), body(3));
    List<Path> blocked = new ArrayList<>();
    long inbox;
    List<Intake.Target> to;
    Store first = new Store(true);
    first.directory.addDomain("example.test");
    Account a = first.directory.addAccount("a@example.test", "pw".toCharArray());
    inbox = first.mail.mailbox(a.id(), "INBOX").orElseThrow().id();
    to = List.of(new Intake.Target(a.id(), inbox));
    for (String b : expected) {
      blocked.add(block(first.blobs, b));
      first.intake.submit(to, Instant.now(), small(b));
    }
    long t0 = System.nanoTime();
    assertThat(bodies(first, inbox)).isEmpty();
    assertThat(System.nanoTime() - t0).as("a read waiting for an applier that cannot write")
        .isLessThan(10_000_000_000L);
    assertThat(first.mail.awaitIntake()).as("the read says it does not see everything").isFalse();
    assertThat(first.blobs.capacity().full()).as("new mail is refused").isTrue();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> first.intake.submit(to, Instant.now(), small(body(4))))
        .isInstanceOf(java.io.IOException.class);
    Thread stop = Thread.ofPlatform().start(first::close);
    stop.join(10_000);
    assertThat(stop.isAlive()).as("a stop waiting for an applier that cannot write").isFalse();
    assertThat(segments(dir.resolve("intake"))).as("the messages stay journaled").isNotEmpty();

    try (Store s = new Store(true)) {
      assertThat(bodies(s, inbox)).isEmpty();
      assertThat(s.blobs.capacity().full()).isTrue();
      for (Path p : blocked) {
        Files.delete(p.resolve("taken"));
        Files.delete(p);
      }
      long deadline = System.nanoTime() + 30_000_000_000L;
      while ((bodies(s, inbox).size() < expected.size() || s.blobs.capacity().full()) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(bodies(s, inbox)).containsExactlyElementsOf(expected);
      assertThat(s.blobs.capacity().full()).isFalse();
      s.intake.submit(to, Instant.now(), small(body(4)));
    }
    try (Store s = new Store(true)) {
      assertThat(bodies(s, inbox)).containsExactly(body(1), body(2), body(3), body(4));
      try (Stream<Path> files = Files.list(dir.resolve("intake"))) {
        assertThat(files.filter(p -> p.toString().endsWith(".new"))).isEmpty();
      }
    }
  }
}
