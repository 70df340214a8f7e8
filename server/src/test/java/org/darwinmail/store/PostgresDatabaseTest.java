package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.darwinmail.testing.PostgresCluster;
import org.junit.jupiter.api.Test;

/** The schema on a real PostgreSQL: every migration applies, once, however many nodes start together. */
class PostgresDatabaseTest {
  private final PostgresCluster pg = PostgresCluster.shared();

  private PostgresDatabase open(String url) {
    return PostgresDatabase.open(url, PostgresCluster.USER, PostgresDatabase.readPassword(pg.passwordFile()), 4);
  }

  private static List<Integer> versions(PostgresDatabase db) {
    return db.read(c -> {
      List<Integer> out = new ArrayList<>();
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT version FROM schema_version ORDER BY version")) {
        while (rs.next()) {
          out.add(rs.getInt(1));
        }
      }
      return out;
    });
  }

  @Test
  void aServerNodeChecksItsDataDirectoryAndBackupAndVerifyRefuseInOneLine(@org.junit.jupiter.api.io.TempDir
      java.nio.file.Path dir) throws Exception {
    String url = pg.newDatabase();
    java.nio.file.Path node = dir.resolve("node");
    try (PostgresDatabase db = PostgresDatabase.open(node, url, PostgresCluster.USER, pg.passwordFile(), 4)) {
      assertThat(db.shared()).isTrue();
      assertThat(DataDir.of(node).format()).as("the node's manifest, as on Derby").exists();
      MailStore mail = new MailStore(db, new BlobStore(node.resolve("blobs")), new MailboxEvents());
      assertThatThrownBy(() -> Backup.online(db, mail, mail.blobs(), node, dir.resolve("b"), "x"))
          .isInstanceOf(StoreException.class).hasMessage(PostgresDatabase.NO_BACKUP);
      assertThatThrownBy(() -> Verify.store(db, mail, mail.blobs(), h -> false))
          .isInstanceOf(StoreException.class).hasMessage(PostgresDatabase.NO_VERIFY);
      var plan = new org.darwinmail.config.BackupConfig("every 1h", null, null, null).plan(node);
      assertThatThrownBy(() -> BackupScheduler.start(plan, node, db, mail, mail.blobs()))
          .isInstanceOf(StoreException.class).hasMessageContaining("pg_dump").hasMessageNotContaining("\n");
      mail.blobs().close();
    }
    // A journal segment a Derby store left (stopped uncleanly) would never be applied here: refused.
    java.nio.file.Path derby = dir.resolve("derby");
    java.nio.file.Files.createDirectories(DataDir.of(derby).intake());
    java.nio.file.Files.write(DataDir.of(derby).intake().resolve("0000000000000001.seg"), new byte[64]);
    assertThatThrownBy(() -> PostgresDatabase.open(derby, url, PostgresCluster.USER, pg.passwordFile(), 4))
        .isInstanceOf(StoreException.class).hasMessageContaining("engine = \"derby\"")
        .hasMessageNotContaining("\n");
  }

  @Test
  void fourNodesStartingTogetherApplyEachMigrationOnce() throws Exception {
    String url = pg.newDatabase();
    ExecutorService ex = Executors.newFixedThreadPool(4);
    try {
      List<Future<PostgresDatabase>> fs = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        fs.add(ex.submit((Callable<PostgresDatabase>) () -> open(url)));
      }
      List<PostgresDatabase> dbs = new ArrayList<>();
      for (Future<PostgresDatabase> f : fs) {
        dbs.add(f.get()); // a second migration of one version would fail on its CREATE TABLE, or on the key
      }
      List<Integer> expected = Migrations.ALL.stream().map(Migrations::versionOf).toList();
      assertThat(versions(dbs.getFirst())).isEqualTo(expected);
      for (PostgresDatabase d : dbs) {
        d.close();
      }
    } finally {
      ex.shutdownNow();
    }
  }

  @Test
  void deletingAQueuedMessageRecordsItsBlobAsACandidateAsOnDerby() {
    try (PostgresDatabase db = open(pg.newDatabase())) {
      db.tx(c -> {
        try (Statement s = c.createStatement()) {
          s.executeUpdate("INSERT INTO queue_messages (sender, blob, size, smtputf8, created_at) VALUES ('',"
              + " '" + "a".repeat(64) + "', 1, 0, CURRENT_TIMESTAMP)");
          s.executeUpdate("DELETE FROM queue_messages");
        }
        return null;
      });
      String hash = db.read(c -> {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT hash FROM blob_candidates")) {
          rs.next();
          return rs.getString(1);
        }
      });
      assertThat(hash).isEqualTo("a".repeat(64));
    }
  }

  @Test
  void aSchemaNewerThanThisReleaseIsRefusedWithOneLine() {
    String url = pg.newDatabase();
    try (PostgresDatabase db = open(url)) {
      db.read(c -> {
        try (Statement s = c.createStatement()) {
          return s.executeUpdate("INSERT INTO schema_version VALUES (999, 'V999__future.sql', CURRENT_TIMESTAMP)");
        }
      });
    }
    assertThatThrownBy(() -> open(url)).isInstanceOf(StoreException.class)
        .hasMessageContaining("schema 999").hasMessageContaining("newer release");
  }

  @Test
  void aWrongPasswordSaysWhichServerAndUser() {
    String url = pg.newDatabase();
    assertThatThrownBy(() -> PostgresDatabase.open(url, PostgresCluster.USER, "wrong", 2))
        .isInstanceOf(StoreException.class).hasMessageContaining(url).hasMessageContaining("password");
  }
}
