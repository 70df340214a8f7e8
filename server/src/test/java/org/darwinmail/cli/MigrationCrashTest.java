package org.darwinmail.cli;

import org.darwinmail.store.Database;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18: a start-up migration is atomic per step and resumable. A process killed (SIGKILL) inside a step's
 * transaction, after its statements and before its commit, leaves the database as the step found it (no table of
 * the step, no schema_version row), and the next start applies the step and runs; an automatic backup left
 * unfinished by a killed start is removed by the next one.
 */
class MigrationCrashTest {
  @TempDir
  Path dir;

  private static final String V007 = "V007__blob_candidates.sql";

  @Test
  void aStartKilledInsideAMigrationLeavesTheOldSchemaAndTheNextStartFinishes() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    assertThat(CliTest.run("", "--config", c.toString(), "domain", "add", "one.test")[0]).isEqualTo("0");
    assertThat(CliTest.run("a-password\n", "--config", c.toString(), "user", "add", "a@one.test",
        "--password-stdin")[0]).isEqualTo("0");
    String url = "jdbc:derby:" + cfg.dataDir().resolve("db").toAbsolutePath();
    // Back to schema 6, as 0.1.0 left it (V019's column and row, V018's tables and row, V017's tables and row, V016's tables and row, V015's table and row, V014's table and row, V013's table and row, V012's column and row, V011's table and row, V010's columns and row, V009's row (its column last), V008's objects and
    // row, then V007's).
    sql(url, "ALTER TABLE expunged DROP COLUMN last_uid", "DELETE FROM schema_version WHERE version = 19",
        "DROP TABLE dkim_keys", "DROP TABLE tls_certificate", "DELETE FROM schema_version WHERE version = 18",
        "DROP TABLE tls_rpt_details", "DROP TABLE tls_rpt_reports", "DELETE FROM schema_version WHERE version = 17",
        "DROP TABLE mta_sts_policies", "DROP TABLE tls_rpt_counts", "DELETE FROM schema_version WHERE version = 16", "DROP TABLE sender_rates", "DELETE FROM schema_version WHERE version = 15", "DROP TABLE urlauth_keys", "DELETE FROM schema_version WHERE version = 14", "DROP TABLE trace_events", "DELETE FROM schema_version WHERE version = 13",
        "ALTER TABLE accounts DROP COLUMN user_quota_bytes", "DELETE FROM schema_version WHERE version = 12",
        "DROP TABLE sender_counts", "DELETE FROM schema_version WHERE version = 11",
        "ALTER TABLE queue_recipients DROP COLUMN lease_token", "ALTER TABLE queue_recipients DROP COLUMN lease_owner",
        "DELETE FROM schema_version WHERE version = 10",
        "DELETE FROM schema_version WHERE version = 9", "DROP TABLE orphan_subscriptions", "ALTER TABLE mailboxes DROP COLUMN recent_uid",
        "DELETE FROM schema_version WHERE version = 8", "DROP TRIGGER messages_blob_candidates", "DROP TRIGGER queue_blob_candidates",
        "DROP TABLE blob_candidates", "DELETE FROM schema_version WHERE version = 7",
        "ALTER TABLE messages DROP COLUMN save_date"); // last: Derby drops V007's trigger with a column of its table
    Files.delete(cfg.dataDir().resolve("FORMAT"));

    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-Ddarwinmail.test.pause_migration=" + V007, "-cp", System.getProperty("java.class.path"),
        "org.darwinmail.cli.Main", "--config", c.toString(), "user", "list"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null && !line.contains("paused in migration " + V007)) {
        // the start's log until the pause
      }
      assertThat(line).as("the start paused inside V007").isNotNull();
      p.destroyForcibly(); // SIGKILL
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
    // A start killed during its backup would have left this; the next start removes it.
    Path partial = Files.createDirectories(cfg.dataDir().resolve("backup").resolve("pre-V007-20260101-000000.partial")
        .resolve("db"));

    // The old state: V007's statements ran, uncommitted, and are gone with the process.
    assertThat(query(url, "SELECT MAX(version) FROM schema_version")).isEqualTo("6");
    assertThat(query(url, "SELECT COUNT(*) FROM sys.systables WHERE tablename = 'BLOB_CANDIDATES'")).isEqualTo("0");
    assertThat(cfg.dataDir().resolve("FORMAT")).doesNotExist();

    // The next start finishes the job.
    String[] r = CliTest.run("", "--config", c.toString(), "user", "list");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).startsWith("a@one.test\t");
    assertThat(query(url, "SELECT MAX(version) FROM schema_version")).isEqualTo(String.valueOf(Database.SCHEMA));
    assertThat(query(url, "SELECT COUNT(*) FROM sys.systables WHERE tablename = 'BLOB_CANDIDATES'")).isEqualTo("1");
    assertThat(Files.readString(cfg.dataDir().resolve("FORMAT"))).contains("database_schema=" + Database.SCHEMA);
    assertThat(partial.getParent()).doesNotExist();
    try (Stream<Path> s = Files.list(cfg.dataDir().resolve("backup"))) {
      List<String> names = s.map(x -> x.getFileName().toString()).sorted().toList();
      // the killed start's backup (complete before its migration began) and the second start's
      assertThat(names).hasSize(2).allMatch(n -> n.matches("pre-V007-\\d{8}-\\d{6}(-\\d+)?"));
    }
  }

  private static void sql(String url, String... statements) throws SQLException {
    try (Connection db = DriverManager.getConnection(url); Statement s = db.createStatement()) {
      for (String q : statements) {
        s.executeUpdate(q);
      }
    } finally {
      shutdown(url);
    }
  }

  private static String query(String url, String q) throws SQLException {
    try (Connection db = DriverManager.getConnection(url); Statement s = db.createStatement();
        ResultSet rs = s.executeQuery(q)) {
      rs.next();
      return rs.getString(1);
    } finally {
      shutdown(url);
    }
  }

  private static void shutdown(String url) {
    try {
      DriverManager.getConnection(url + ";shutdown=true").close();
    } catch (SQLException e) {
      // 08006: shut down
    }
  }
}
