package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The automatic backup before a migration is taken before the intake journal is replayed (issue 18; README, "Rolling
 * back an upgrade"): a journaled message's blob that the previous process left torn (an empty file: killed between
 * creating and writing it, as the cross-version upgrade test once caught 0.3.0) or never wrote goes into the
 * backup from the journal's copy, so that the backup verifies and restores; a link would have kept the torn file and
 * `backup verify` / `backup restore` refused the backup as damaged.
 */
class BackupJournalTest {
  @TempDir
  Path dir;

  private static BlobStore.Small small(String text) throws Exception {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    return new BlobStore.Small(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)), b);
  }

  @Test
  void aTornOrMissingJournaledBlobGoesIntoThePreMigrationBackupFromTheJournal() throws Exception {
    Path data = dir.resolve("var");
    Path intake = data.resolve("intake");
    Path saved = Files.createDirectories(dir.resolve("saved"));
    List<BlobStore.Small> bodies = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      bodies.add(small("Subject: journaled " + i + "\r\n\r\n" + ("line " + i + "\r\n").repeat(50 + i)));
    }
    Database db = Database.open(data);
    BlobStore blobs = new BlobStore(data.resolve("blobs"));
    MailStore mail = new MailStore(new SqlMessageRepository(db), blobs, new MailboxEvents(), intake, 64 * 1024);
    try {
      Directory directory = new Directory(db, mail);
      directory.addDomain("example.test");
      Account a = directory.addAccount("a@example.test", "pw".toCharArray());
      long inbox = mail.mailbox(a.id(), "INBOX").orElseThrow().id();
      for (BlobStore.Small b : bodies) {
        mail.intake().submit(List.of(new Intake.Target(a.id(), inbox)), Instant.now(), b);
      }
      mail.awaitIntake();
      try (Stream<Path> s = Files.list(intake)) {
        for (Path seg : s.filter(p -> p.toString().endsWith(".seg")).toList()) {
          if (!Intake.read(seg).isEmpty()) {
            Files.copy(seg, saved.resolve(seg.getFileName()));
          }
        }
      }
    } finally {
      mail.intake().close();
      db.close();
    }
    // As a killed process leaves it: the segment still there, one blob an empty file, one never written.
    try (Stream<Path> s = Files.list(saved)) {
      for (Path seg : s.toList()) {
        Files.copy(seg, intake.resolve(seg.getFileName()));
      }
    }
    Path torn = blobs.path(bodies.get(0).hash());
    Files.write(torn, new byte[0]);
    Files.delete(blobs.path(bodies.get(1).hash()));

    Backup.Created b;
    String url = "jdbc:derby:" + data.resolve("db").toAbsolutePath();
    try (Connection c = DriverManager.getConnection(url)) {
      b = Backup.create(c, data, data.resolve("backup"), "pre-V099", true);
    } finally {
      try {
        DriverManager.getConnection(url + ";shutdown=true").close();
      } catch (SQLException expected) {
        // 08006: shut down
      }
    }
    Backup.Report r = Backup.verify(b.path());
    assertThat(r.problems()).isEmpty();
    assertThat(r.messages()).isEqualTo(3);
    for (BlobStore.Small body : bodies) {
      Path copy = b.path().resolve("blobs").resolve(body.hash().substring(0, 2)).resolve(body.hash());
      assertThat(Files.readAllBytes(copy)).isEqualTo(body.bytes());
    }
    assertThat(Files.size(torn)).isZero(); // the data directory is the replay's to repair, not the backup's

    Path restored = dir.resolve("restored");
    Backup.restore(b.path(), restored);
    Database db2 = Database.open(restored);
    BlobStore blobs2 = new BlobStore(restored.resolve("blobs"));
    MailStore mail2 = new MailStore(new SqlMessageRepository(db2), blobs2, new MailboxEvents(),
        restored.resolve("intake"), 64 * 1024);
    try {
      Account a = new Directory(db2, mail2).account("a@example.test").orElseThrow();
      List<String> got = new ArrayList<>();
      for (MessageRow row : mail2.messages(mail2.mailbox(a.id(), "INBOX").orElseThrow().id())) {
        try (var in = mail2.open(row)) {
          got.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      assertThat(got).containsExactlyInAnyOrderElementsOf(
          bodies.stream().map(x -> new String(x.bytes(), StandardCharsets.UTF_8)).toList());
    } finally {
      mail2.intake().close();
      db2.close();
    }
  }
}
