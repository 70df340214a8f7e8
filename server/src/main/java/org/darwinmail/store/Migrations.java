package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The numbered schema migrations ({@code db/migration/V###__name.sql} on the class path, or
 * {@code db/migration/<engine>/V###__name.sql} where an engine needs its own, like PostgreSQL's V007) and the one
 * runner that applies them, on Derby ({@link Database}) and on PostgreSQL ({@link PostgresDatabase}); what the
 * engines add around it are {@link Hooks}. Each pending step runs in one transaction with its
 * {@code schema_version} row (DDL is transactional on both): a start killed inside a step leaves it undone and the
 * next start applies it ({@code MigrationCrashTest}). A schema above this release's is refused before any step.
 */
final class Migrations {
  private static final Logger log = LoggerFactory.getLogger(Migrations.class);
  /** Every migration, in order. A new one is added here and as a resource; numbers are never reused. */
  static final List<String> ALL = List.of(
      "V001__accounts_mailboxes_messages.sql",
      "V002__queue.sql",
      "V003__guard.sql",
      "V004__imap.sql",
      "V005__mailbox_usage.sql",
      "V006__intake.sql",
      "V007__blob_candidates.sql",
      "V008__imap_recent_subscriptions.sql",
      "V009__savedate.sql",
      "V010__queue_leases.sql",
      "V011__sender_counts.sql",
      "V012__user_quota.sql",
      "V013__delivery_trace.sql",
      "V014__urlauth_keys.sql",
      "V015__sender_rates.sql",
      "V016__mta_sts.sql",
      "V017__tls_rpt_reports.sql",
      "V018__shared_keys.sql",
      "V019__expunged_runs.sql");
  /** The schema this release writes: its highest migration number. */
  static final int SCHEMA = versionOf(ALL.getLast());

  private Migrations() {}

  /** What an engine adds around the run. */
  interface Hooks {
    /**
     * Taken before the schema is read, held until the run ends ({@link #unlock}): PostgreSQL's advisory lock, so
     * that of several nodes starting together one migrates and the others then find nothing pending. Derby admits
     * one process per database: nothing to take.
     */
    default void lock(Connection c) throws SQLException {}

    default void unlock(Connection c) throws SQLException {}

    /** The refusal of a database whose schema {@code found} is above {@link #SCHEMA}. */
    RuntimeException newer(int found);

    /**
     * Before the first pending step ({@code first}) of a database that already holds a schema: Derby's automatic
     * backup. Throwing stops the run before any step.
     */
    default void beforeMigrating(Connection c, String first) throws SQLException {}
  }

  /** Applies the pending migrations on {@code c} (in auto-commit mode, left so). */
  static void run(Connection c, SqlDialect dialect, Hooks hooks) throws SQLException {
    hooks.lock(c);
    try {
      if (!versionTableExists(c, dialect)) {
        try (Statement s = c.createStatement()) {
          s.executeUpdate("CREATE TABLE schema_version (version INT NOT NULL PRIMARY KEY, name VARCHAR(200)"
              + " NOT NULL, applied_at TIMESTAMP NOT NULL)");
        }
      }
      TreeSet<Integer> applied = new TreeSet<>();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT version FROM schema_version")) {
        while (rs.next()) {
          applied.add(rs.getInt(1));
        }
      }
      if (!applied.isEmpty() && applied.last() > SCHEMA) {
        throw hooks.newer(applied.last());
      }
      List<String> pending = ALL.stream().filter(m -> !applied.contains(versionOf(m))).toList();
      if (pending.isEmpty()) {
        return;
      }
      if (!applied.isEmpty()) {
        hooks.beforeMigrating(c, pending.getFirst());
      }
      for (String m : pending) {
        log.info("applying database migration {} ({})", m, dialect.migrationFolder());
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
          for (String sql : statements(m, dialect)) {
            s.executeUpdate(sql);
          }
          try (PreparedStatement ps = c.prepareStatement("INSERT INTO schema_version VALUES (?, ?, ?)")) {
            ps.setInt(1, versionOf(m));
            ps.setString(2, m);
            ps.setTimestamp(3, java.sql.Timestamp.from(Instant.now()));
            ps.executeUpdate();
          }
          pauseForCrashTest(m);
          c.commit();
        } catch (SQLException e) {
          c.rollback();
          throw new SQLException("migration " + m + " failed: " + e.getMessage(), e.getSQLState(), e);
        } finally {
          c.setAutoCommit(true);
        }
      }
    } finally {
      hooks.unlock(c);
    }
  }

  /** In the connection's current schema, spelt as the engine stores names (Derby upper case, PostgreSQL lower). */
  private static boolean versionTableExists(Connection c, SqlDialect dialect) throws SQLException {
    if (dialect == SqlDialect.DERBY) {
      // Derby's catalogue read directly: DatabaseMetaData.getTables compiles a large query of its own at each start
      // (a fifth of a second of CPU; issue 22).
      try (var ps = c.prepareStatement("SELECT 1 FROM SYS.SYSTABLES t JOIN SYS.SYSSCHEMAS s ON t.SCHEMAID = s.SCHEMAID"
          + " WHERE s.SCHEMANAME = CURRENT SCHEMA AND t.TABLENAME = 'SCHEMA_VERSION'"); ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
    DatabaseMetaData md = c.getMetaData();
    String name = md.storesUpperCaseIdentifiers() ? "SCHEMA_VERSION" : "schema_version";
    try (ResultSet rs = md.getTables(null, c.getSchema(), name, null)) {
      return rs.next();
    }
  }

  /**
   * For MigrationCrashTest alone: with the system property {@code darwinmail.test.pause_migration} naming a migration,
   * the start stops inside that step's transaction, just before its commit, and says so on its log, so that the test
   * kills the process (SIGKILL) there. Never set otherwise.
   */
  private static void pauseForCrashTest(String migration) {
    if (migration.equals(System.getProperty("darwinmail.test.pause_migration"))) {
      log.warn("paused in migration {} before its commit (darwinmail.test.pause_migration)", migration);
      try {
        Thread.sleep(Long.MAX_VALUE);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static int versionOf(String migration) {
    return Integer.parseInt(migration.substring(1, 4));
  }

  /** The statements of one migration for {@code dialect}: the engine's own file when there is one, else the portable one. */
  static List<String> statements(String migration, SqlDialect dialect) {
    String own = "/db/migration/" + dialect.migrationFolder() + "/" + migration;
    return statementsAt(Migrations.class.getResource(own) != null ? own : "/db/migration/" + migration);
  }

  /** The statements of a migration resource: separated by lines that end with ';'; "--" lines are comments. */
  private static List<String> statementsAt(String resource) {
    String migration = resource.substring(resource.lastIndexOf('/') + 1);
    String text;
    try (InputStream in = Migrations.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new StoreException("missing migration resource " + migration);
      }
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new StoreException("cannot read migration " + migration, e);
    }
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String line : text.split("\n")) {
      String t = line.strip();
      if (t.startsWith("--") || t.isEmpty()) {
        continue;
      }
      cur.append(line).append('\n');
      if (t.endsWith(";")) {
        String sql = cur.toString().strip();
        out.add(sql.substring(0, sql.length() - 1));
        cur.setLength(0);
      }
    }
    if (!cur.toString().isBlank()) {
      out.add(cur.toString().strip());
    }
    return out;
  }
}
