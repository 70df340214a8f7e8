package org.darwinmail.cli;

import org.darwinmail.store.Database;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.Blobs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18: {@code darwinmail backup create|list|verify|restore} (ARCHITECTURE.md, "Backups"), and the automatic
 * backup before a migration, which is now a whole backup that {@code restore} takes.
 */
class BackupTest {
  @TempDir
  Path dir;

  private static String[] run(String... args) {
    return CliTest.run("", args);
  }


  /** a@one.test with three messages in INBOX (the second expunged: a gap in the UIDs), one in Archive. */
  private static void fill(ServerConfig cfg) throws IOException {
    try (var s = DarwinMail.Services.open(cfg)) {
      s.directory().addDomain("one.test");
      Account a = s.directory().addAccount("a@one.test", "a-password".toCharArray());
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      long archive = s.mail().mailbox(a.id(), "Archive").orElseThrow().id();
      for (int i = 1; i <= 3; i++) {
        s.mail().deliver(List.of(inbox), Blobs.write(s.blobs(), "Subject: " + i + "\r\n\r\nbody " + i + "\r\n"),
            Instant.now());
      }
      s.mail().expunge(inbox, List.of(2L));
      s.mail().deliver(List.of(archive), Blobs.write(s.blobs(), "Subject: kept\r\n\r\n" + "x".repeat(200_000)),
          Instant.now());
    }
  }

  /** folder name, uid, bytes of every message of a@one.test. */
  private static List<String> contents(ServerConfig cfg) throws IOException {
    List<String> out = new ArrayList<>();
    try (var s = DarwinMail.Services.open(cfg)) {
      Account a = s.directory().account("a@one.test").orElseThrow();
      for (var m : s.mail().mailboxes(a.id())) {
        for (MessageRow r : s.mail().messages(m.id())) {
          try (InputStream in = s.mail().open(r)) {
            out.add(m.name() + " " + r.uid() + " " + new String(in.readAllBytes(), StandardCharsets.UTF_8));
          }
        }
      }
    }
    return out;
  }

  private Path restoredConfig(Path dataDir) throws IOException {
    Path c = dir.resolve("restored.toml");
    Files.writeString(c, Files.readString(CliTest.config(dir)).replace("data_dir = \"var\"",
        "data_dir = \"" + dataDir + "\""));
    return c;
  }

  @Test
  void createVerifyListAndRestoreIntoAnEmptyDirectory() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    String[] none = run("--config", c.toString(), "backup", "create", dir.resolve("backups").toString());
    assertThat(none[0]).isEqualTo("1");
    assertThat(none[2]).isEqualTo("darwinmail: no data yet in " + cfg.dataDir() + ": nothing to back up\n");
    assertThat(cfg.dataDir()).doesNotExist();
    fill(cfg);
    List<String> before = contents(cfg);
    assertThat(before).hasSize(3);

    Path backups = dir.resolve("backups");
    String[] r = run("--config", c.toString(), "backup", "create", backups.toString());
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    Path b = Path.of(r[1].lines().findFirst().orElseThrow());
    assertThat(b.getParent()).isEqualTo(backups);
    assertThat(Files.getPosixFilePermissions(b)).isEqualTo(
        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")); // mail and private keys
    assertThat(r[1]).contains("3 messages");
    String manifest = Files.readString(b.resolve("MANIFEST"));
    assertThat(manifest).contains("backup_format=1\n", "database_schema=" + Database.SCHEMA + "\n", "messages=3\n")
        .containsPattern("file=[0-9a-f]{64} \\d+ db/service.properties\n")
        .containsPattern("file=[0-9a-f]{64} \\d+ tls/key.pem\n|file=[0-9a-f]{64} \\d+ FORMAT\n");
    assertThat(Files.list(backups).map(p -> p.getFileName().toString()).toList())
        .containsExactly(b.getFileName().toString()); // no .partial left

    r = run("--config", c.toString(), "backup", "list", backups.toString());
    assertThat(r[0]).isEqualTo("0");
    assertThat(r[1]).startsWith(b.getFileName() + "\t").contains("\tschema " + Database.SCHEMA + "\t3 messages");

    r = run("--config", c.toString(), "backup", "verify", b.getFileName().toString(), "--dir", backups.toString());
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    // 4 blobs: the expunged message's too (no collector runs in a CLI process; a blob too many is harmless)
    assertThat(r[1]).isEqualTo(b + ": OK (" + manifestFiles(manifest) + " files, 4 blobs, 3 messages, 0 queued)\n");

    Path target = dir.resolve("restored");
    r = run("--config", c.toString(), "backup", "restore", b.toString(), "--to", target.toString());
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).startsWith("restored " + b.getFileName() + " into " + target + ": 3 messages");
    assertThat(contents(ConfigLoader.load(restoredConfig(target)))).isEqualTo(before);
    // The backup was never booted: it verifies as before.
    assertThat(run("--config", c.toString(), "backup", "verify", b.toString())[0]).isEqualTo("0");
  }

  private static long manifestFiles(String manifest) {
    return manifest.lines().filter(l -> l.startsWith("file=")).count();
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void aDamagedOrMissingBlobFailsVerifyNamingTheFileAndTheMessage() throws Exception {
    Path c = CliTest.config(dir);
    fill(ConfigLoader.load(c));
    Path backups = dir.resolve("backups");
    String[] r = run("--config", c.toString(), "backup", "create", backups.toString());
    Path b = Path.of(r[1].lines().findFirst().orElseThrow());
    List<Path> blobs;
    try (Stream<Path> s = Files.walk(b.resolve("blobs"))) {
      blobs = s.filter(Files::isRegularFile).sorted().toList();
    }
    Path damaged = blobs.stream().filter(p -> read(p).contains("body 1")).findFirst().orElseThrow();
    Path missing = blobs.stream().filter(p -> read(p).contains("Subject: kept")).findFirst().orElseThrow();
    // A new file in place of the (hard-linked) one: the data directory's copy stays whole.
    String original = Files.readString(damaged);
    Files.delete(damaged);
    Files.writeString(damaged, original.replace("Subject", "Subjekt"));
    Files.delete(missing);

    r = run("--config", c.toString(), "backup", "verify", b.toString());
    assertThat(r[0]).isEqualTo("1");
    String rel = b.relativize(damaged).toString();
    String relMissing = b.relativize(missing).toString();
    assertThat(r[2]).startsWith("darwinmail: the backup " + b + " is damaged: ").contains("(and ").endsWith("\n")
        .hasLineCount(1);
    assertThat(r[1]).contains(rel + ": damaged (its content does not hash to its name)\n",
        relMissing + ": missing\n");
    assertThat(r[1]).containsPattern("message UID \\d+ in a@one.test's (INBOX|Archive): its body " + rel
        + " is damaged\n");
    assertThat(r[1]).containsPattern("message UID \\d+ in a@one.test's (INBOX|Archive): its body " + relMissing
        + " is missing\n");

    // A damaged backup is not restored.
    r = run("--config", c.toString(), "backup", "restore", b.toString(), "--to", dir.resolve("r").toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).contains("is damaged").contains("nothing restored").hasLineCount(1);
    assertThat(dir.resolve("r")).doesNotExist();
  }

  /** The database's own consistency: a mailbox's usage (what quotas count) and its UIDNEXT against its messages. */
  @Test
  void verifyFindsAUsageOrAUidnextThatDisagreesWithTheMessages() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    fill(cfg);
    String url = "jdbc:derby:" + cfg.dataDir().resolve("db").toAbsolutePath();
    try (Connection db = DriverManager.getConnection(url); Statement s = db.createStatement()) {
      s.executeUpdate("UPDATE mailboxes SET used_bytes = used_bytes + 5 WHERE name = 'Archive'");
      s.executeUpdate("UPDATE mailboxes SET uid_next = 3 WHERE name = 'INBOX'");
    } finally {
      try {
        DriverManager.getConnection(url + ";shutdown=true");
      } catch (java.sql.SQLException expected) {
        // 08006
      }
    }
    String[] r = run("--config", c.toString(), "backup", "create", dir.resolve("backups").toString());
    Path b = Path.of(r[1].lines().findFirst().orElseThrow());
    r = run("--config", c.toString(), "backup", "verify", b.toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[1]).containsPattern("a@one.test's Archive: its usage says (\\d+) bytes, its messages add up to \\d+\n")
        .contains("a@one.test's INBOX: UID 3 is not below UIDNEXT 3\n");
  }

  @Test
  void restoreRefusesANonEmptyDirectoryAndABackupFromANewerRelease() throws Exception {
    Path c = CliTest.config(dir);
    fill(ConfigLoader.load(c));
    String[] r = run("--config", c.toString(), "backup", "create", dir.resolve("backups").toString());
    Path b = Path.of(r[1].lines().findFirst().orElseThrow());

    Path full = Files.createDirectories(dir.resolve("full"));
    Files.writeString(full.resolve("something"), "x");
    r = run("--config", c.toString(), "backup", "restore", b.toString(), "--to", full.toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).isEqualTo("darwinmail: " + full + " is not empty (it holds something): restore into an empty"
        + " data directory, or add --replace to set the data set there aside\n");

    Path manifest = b.resolve("MANIFEST");
    String text = Files.readString(manifest);
    Files.writeString(manifest, text.replace("backup_format=1", "backup_format=2")
        .replaceFirst("written_by=[^\n]+", "written_by=9.0.0"));
    r = run("--config", c.toString(), "backup", "restore", b.toString(), "--to", dir.resolve("r1").toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).isEqualTo("darwinmail: the backup " + b + " was written by Darwin Mail 9.0.0 in backup format"
        + " 2, this release reads up to 1; restore it with Darwin Mail 9.0.0 or newer\n");

    Files.writeString(manifest, text.replace("database_schema=" + Database.SCHEMA, "database_schema=" + (Database.SCHEMA + 1))
        .replaceFirst("written_by=[^\n]+", "written_by=9.0.0"));
    r = run("--config", c.toString(), "backup", "restore", b.toString(), "--to", dir.resolve("r2").toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).isEqualTo("darwinmail: the backup " + b + " holds data of Darwin Mail 9.0.0 (database schema "
        + (Database.SCHEMA + 1) + ", this release reads up to " + Database.SCHEMA + "); restore it with Darwin Mail 9.0.0 or newer\n");
    assertThat(dir.resolve("r1")).doesNotExist();
    assertThat(dir.resolve("r2")).doesNotExist();

    r = run("--config", c.toString(), "backup", "restore", b.toString());
    assertThat(r[0]).isEqualTo("2"); // --to is required: a usage error
  }

  /**
   * The automatic backup before a migration is a whole backup (it held the database alone: restored, its rows named
   * blobs the upgraded release could have collected since): listed, verified, restored, and the restored copy is
   * migrated by its own first start while the backup stays unmigrated.
   */
  @Test
  void theBackupBeforeAMigrationIsAWholeBackupThatRestores() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    fill(cfg);
    List<String> before = contents(cfg);
    // Make the database one of schema 6 again (as 0.1.0 left it): V019's, V018's, V017's, V016's, V015's, V014's, V013's, V012's, V011's, V010's, V009's, V008's and V007's objects
    // and rows go.
    try (Connection db = DriverManager.getConnection("jdbc:derby:" + cfg.dataDir().resolve("db").toAbsolutePath());
        Statement s = db.createStatement()) {
      s.executeUpdate("ALTER TABLE expunged DROP COLUMN last_uid");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 19");
      s.executeUpdate("DROP TABLE dkim_keys");
      s.executeUpdate("DROP TABLE tls_certificate");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 18");
      s.executeUpdate("DROP TABLE tls_rpt_details");
      s.executeUpdate("DROP TABLE tls_rpt_reports");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 17");
      s.executeUpdate("DROP TABLE mta_sts_policies");
      s.executeUpdate("DROP TABLE tls_rpt_counts");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 16");
      s.executeUpdate("DROP TABLE sender_rates");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 15");
      s.executeUpdate("DROP TABLE urlauth_keys");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 14");
      s.executeUpdate("DROP TABLE trace_events");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 13");
      s.executeUpdate("ALTER TABLE accounts DROP COLUMN user_quota_bytes");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 12");
      s.executeUpdate("DROP TABLE sender_counts");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 11");
      s.executeUpdate("ALTER TABLE queue_recipients DROP COLUMN lease_token");
      s.executeUpdate("ALTER TABLE queue_recipients DROP COLUMN lease_owner");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 10");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 9");
      s.executeUpdate("DROP TABLE orphan_subscriptions");
      s.executeUpdate("ALTER TABLE mailboxes DROP COLUMN recent_uid");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 8");
      s.executeUpdate("DROP TRIGGER messages_blob_candidates");
      s.executeUpdate("DROP TRIGGER queue_blob_candidates");
      s.executeUpdate("DROP TABLE blob_candidates");
      s.executeUpdate("DELETE FROM schema_version WHERE version = 7");
      // V009's column last: Derby drops a trigger on the table with a column (V007's, gone above by then)
      s.executeUpdate("ALTER TABLE messages DROP COLUMN save_date");
    } finally {
      try {
        DriverManager.getConnection("jdbc:derby:" + cfg.dataDir().resolve("db").toAbsolutePath() + ";shutdown=true");
      } catch (java.sql.SQLException expected) {
        // 08006
      }
    }
    Files.delete(cfg.dataDir().resolve("FORMAT"));
    assertThat(contents(cfg)).isEqualTo(before); // this start migrates V007 to V009, after the backup
    try (var s = DarwinMail.Services.open(cfg)) { // V009: the messages there before get their internal date as save date
      Account a = s.directory().account("a@one.test").orElseThrow();
      for (var m : s.mail().mailboxes(a.id())) {
        for (MessageRow row : s.mail().messages(m.id())) {
          assertThat(row.saveDate()).isEqualTo(row.internalDate());
        }
      }
    }

    Path backups = cfg.dataDir().resolve("backup");
    String[] r = run("--config", c.toString(), "backup", "list");
    assertThat(r[0]).isEqualTo("0");
    assertThat(r[1]).matches("pre-V007-\\d{8}-\\d{6}\t[^\t]+\tDarwin Mail [^\t]+\tschema 6\t3 messages\t4 blobs\n");
    String name = r[1].substring(0, r[1].indexOf('\t'));
    assertThat(Files.readString(backups.resolve(name).resolve("MANIFEST")))
        .contains("database_schema=6\n", "readable_from=0.1.0\n");
    r = run("--config", c.toString(), "backup", "verify", name);
    assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");

    Path target = dir.resolve("rolled-back");
    r = run("--config", c.toString(), "backup", "restore", name, "--to", target.toString());
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(contents(ConfigLoader.load(restoredConfig(target)))).isEqualTo(before);
    assertThat(Files.readString(target.resolve("FORMAT"))).contains("database_schema=" + Database.SCHEMA);
    assertThat(Files.readString(backups.resolve(name).resolve("MANIFEST"))).contains("database_schema=6\n");
    assertThat(run("--config", c.toString(), "backup", "verify", name)[0]).isEqualTo("0");
  }

  @Test
  void noBlobIsCollectedWhileABackupHoldsCollection() throws Exception {
    BlobStore blobs = new BlobStore(dir.resolve("blobs"));
    BlobRef b = Blobs.write(blobs, "gone soon");
    try (BlobStore.Hold hold = blobs.holdCollection()) {
      assertThat(blobs.collect(b.hash(), h -> false, Duration.ZERO)).isEqualTo(BlobStore.Collected.BUSY);
      assertThat(blobs.exists(b.hash())).isTrue();
    }
    assertThat(blobs.collect(b.hash(), h -> false, Duration.ZERO)).isEqualTo(BlobStore.Collected.DELETED);
  }
}
