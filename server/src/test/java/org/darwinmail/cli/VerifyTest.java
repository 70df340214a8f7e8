package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.Blobs;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18: {@code darwinmail verify} (store.Verify) on the running server's store, on a stopped data directory and
 * on a backup: a damaged and a missing body are reported by message and account, an orphan blob, the usage, UIDNEXT
 * and the queue's rows; and a check while mail is delivered and expunged finds nothing wrong.
 */
class VerifyTest {
  @TempDir
  Path dir;


  /** a@one.test: "body 1" and "body 2" in INBOX (UIDs 1, 2), "kept" in Archive (UID 1). */
  private static void fill(DarwinMail.Services s) throws IOException {
    s.directory().addDomain("one.test");
    Account a = s.directory().addAccount("a@one.test", "a-password".toCharArray());
    long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
    long archive = s.mail().mailbox(a.id(), "Archive").orElseThrow().id();
    for (int i = 1; i <= 2; i++) {
      s.mail().deliver(List.of(inbox), Blobs.write(s.blobs(), "Subject: " + i + "\r\n\r\nbody " + i + "\r\n"), Instant.now());
    }
    s.mail().deliver(List.of(archive), Blobs.write(s.blobs(), "Subject: kept\r\n\r\nkept\r\n"), Instant.now());
  }

  private static Path blobNamed(Path blobs, String content) throws IOException {
    try (var s = Files.walk(blobs)) {
      return s.filter(Files::isRegularFile).filter(p -> {
        try {
          return Files.readString(p).contains(content);
        } catch (IOException e) {
          return false;
        }
      }).findFirst().orElseThrow();
    }
  }

  /** Damages "body 1", removes "kept", adds an orphan blob written two minutes ago; returns the three paths. */
  private static List<String> damage(Path dataDir) throws Exception {
    Path blobs = dataDir.resolve("blobs");
    Path damaged = blobNamed(blobs, "body 1");
    Path missing = blobNamed(blobs, "Subject: kept");
    String original = Files.readString(damaged);
    Files.delete(damaged); // a new file: a backup's hard link keeps the old content
    Files.writeString(damaged, original.replace("body", "b0dy"));
    Files.delete(missing);
    byte[] orphan = "nobody's\r\n".getBytes(StandardCharsets.UTF_8);
    String h = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(orphan));
    Path o = blobs.resolve(h.substring(0, 2)).resolve(h);
    Files.createDirectories(o.getParent());
    Files.write(o, orphan);
    Files.setLastModifiedTime(o, FileTime.from(Instant.now().minusSeconds(120)));
    return List.of(dataDir.relativize(damaged).toString(), dataDir.relativize(missing).toString(),
        dataDir.relativize(o).toString());
  }

  private static void assertNamesTheMessagesAndTheUser(String[] r, List<String> bad) {
    assertThat(r[0]).as(r[1] + r[2]).isEqualTo("1");
    assertThat(r[1]).contains("message UID 1 in a@one.test's INBOX: its body " + bad.get(0) + " is damaged\n",
        "message UID 1 in a@one.test's Archive: its body " + bad.get(1) + " is missing\n");
    assertThat(r[2]).startsWith("darwinmail: ").contains(" problem(s) in the ").hasLineCount(1);
  }

  @Test
  void theRunningServerReportsADamagedAndAMissingBodyByMessageAndUserAndAnOrphan() throws Exception {
    ServerConfig cfg = ConfigLoader.load(CliTest.config(dir));
    try (DarwinMail server = DarwinMail.start(TestServer.prepare(cfg))) {
      fill(server.services());
      String[] r = Main.run(Cli.inside(server), "", "verify");
      assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");
      assertThat(r[1]).startsWith("OK: running server's store " + cfg.dataDir() + ": 3 messages, 0 queued, 3 blobs");

      List<String> bad = damage(cfg.dataDir());
      r = Main.run(Cli.inside(server), "", "verify");
      assertNamesTheMessagesAndTheUser(r, bad);
      assertThat(r[1]).contains(bad.get(2) + ": an orphan (no message, queued message or journaled message refers"
          + " to it)\n");
      assertThat(r[2]).isEqualTo("darwinmail: 3 problem(s) in the running server's store " + cfg.dataDir()
          + ": 3 messages, 0 queued, 3 blobs named by rows, 1 not (awaiting collection or being stored), checked in "
          + r[2].replaceFirst("(?s).*checked in ", ""));
      // Mail goes on: verify changed nothing
      assertThat(server.services().mail().mailboxes(server.services().directory().account("a@one.test")
          .orElseThrow().id())).isNotEmpty();
    }
  }

  @Test
  void aStoppedDataDirectoryAndABackupReportTheSameAndTheRowsOwnConsistency() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    try (var s = DarwinMail.Services.open(cfg)) {
      fill(s);
    }
    Path backups = dir.resolve("backups");
    String[] r = CliTest.run("", "--config", c.toString(), "backup", "create", backups.toString());
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    Path b = Path.of(r[1].lines().findFirst().orElseThrow());
    r = CliTest.run("", "--config", c.toString(), "verify", "--backup", b.toString());
    assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");
    assertThat(r[1]).startsWith("OK: backup " + b + ": 3 messages, 0 queued, 3 blobs (0 named by no row");

    // The backup's own blobs: its hard links replaced by damaged or missing files.
    List<String> bad = damage(b);
    r = CliTest.run("", "--config", c.toString(), "verify", "--backup", b.toString());
    assertNamesTheMessagesAndTheUser(r, bad);
    assertThat(r[1]).contains(bad.get(2) + ": not in the MANIFEST\n");

    // The stopped data directory, damaged the same way, and rows that disagree with one another.
    bad = damage(cfg.dataDir());
    String url = "jdbc:derby:" + cfg.dataDir().resolve("db").toAbsolutePath();
    try (Connection db = DriverManager.getConnection(url); Statement s = db.createStatement()) {
      s.executeUpdate("UPDATE mailboxes SET used_bytes = used_bytes + 5 WHERE name = 'Archive'");
      s.executeUpdate("UPDATE mailboxes SET uid_next = 2 WHERE name = 'INBOX'");
      s.executeUpdate("INSERT INTO queue_recipients (message_id, recipient, domain, next_attempt) VALUES (999,"
          + " 'x@remote.test', 'remote.test', CURRENT_TIMESTAMP)");
    } finally {
      try {
        DriverManager.getConnection(url + ";shutdown=true");
      } catch (java.sql.SQLException expected) {
        // 08006
      }
    }
    r = CliTest.run("", "--config", c.toString(), "verify");
    assertNamesTheMessagesAndTheUser(r, bad);
    assertThat(r[1]).contains(bad.get(2) + ": an orphan", "a@one.test's INBOX: UID 2 is not below UIDNEXT 2\n",
        "queue: 1 recipient(s) of queued message 999, which is not there\n")
        .containsPattern("a@one.test's Archive: its usage says \\d+ bytes, its messages add up to \\d+\n");
    assertThat(r[2]).startsWith("darwinmail: 6 problem(s) in the " + cfg.dataDir() + ": 3 messages");
  }

  /** Rows and blobs move while a live check reads them: what it reports must be wrong at one instant, not in passing. */
  @Test
  void aCheckWhileMailIsDeliveredAndExpungedFindsNothingWrong() throws Exception {
    ServerConfig cfg = ConfigLoader.load(CliTest.config(dir));
    try (DarwinMail server = DarwinMail.start(TestServer.prepare(cfg))) {
      DarwinMail.Services s = server.services();
      fill(s);
      long inbox = s.mail().mailbox(s.directory().account("a@one.test").orElseThrow().id(), "INBOX").orElseThrow()
          .id();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger delivered = new AtomicInteger();
      List<Thread> writers = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int k = t;
        writers.add(Thread.ofVirtual().start(() -> {
          for (int i = 0; !stop.get(); i++) {
            try {
              List<MessageRow> rows = s.mail().deliver(List.of(inbox),
                  Blobs.write(s.blobs(), "Subject: " + k + "-" + i + "\r\n\r\n" + "x".repeat(i % 500)), Instant.now());
              delivered.incrementAndGet();
              if (i % 3 == 0) {
                s.mail().expunge(inbox, List.of(rows.getFirst().uid()));
              }
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }
        }));
      }
      try {
        for (int round = 0; round < 5; round++) {
          String[] r = Main.run(Cli.inside(server), "", "verify");
          assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");
        }
      } finally {
        stop.set(true);
        for (Thread w : writers) {
          w.join();
        }
      }
      assertThat(delivered.get()).isGreaterThan(20);
    }
  }
}
