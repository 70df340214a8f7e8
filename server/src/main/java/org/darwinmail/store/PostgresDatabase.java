package org.darwinmail.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL database shared by several nodes (issue 20), with a connection pool and the same numbered
 * migrations as {@link Database}: {@code db/migration/V###__name.sql}, or {@code db/migration/postgresql/V###__...}
 * where the engines differ (V007's triggers). Migrations run under a session advisory lock, so that of several
 * nodes starting together one migrates and the others wait, then find nothing left to do; a schema newer than
 * this release is refused before anything is written.
 *
 * <p>The server's store with {@code [store] engine = "postgresql"} ({@link #open(Path, String, String, Path, int)}):
 * every repository runs on it, and the data directory keeps only what is this node's own (the TLS certificate, the
 * blob cache, the control socket; no intake journal: README, "Running on PostgreSQL").
 */
public final class PostgresDatabase implements SqlRunner, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PostgresDatabase.class);
  /** The advisory lock key of the migrations ("DarwinMa" in ASCII): any constant every node agrees on. */
  static final long MIGRATION_LOCK = 0x44617277696e4d61L;
  private static final int ATTEMPTS = 8;
  private final HikariDataSource pool;
  /** This node's name on the cluster event channel: random, new for each open ({@link ClusterEvents}). */
  private final String node = Long.toHexString(new java.security.SecureRandom().nextLong() | Long.MIN_VALUE);

  private PostgresDatabase(HikariDataSource pool) {
    this.pool = pool;
  }

  /** Opens a pool of {@code poolSize} connections to {@code url} and migrates the schema. */
  public static PostgresDatabase open(String url, String user, String password, int poolSize) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(url);
    hc.setUsername(user);
    hc.setPassword(password);
    hc.setMaximumPoolSize(poolSize);
    hc.setMinimumIdle(Math.min(2, poolSize));
    hc.setPoolName("postgresql");
    hc.setAutoCommit(true);
    hc.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(hc);
    } catch (RuntimeException e) {
      throw new StoreException("cannot connect to " + url + " as " + user + ": " + rootMessage(e), e);
    }
    try (Connection c = pool.getConnection()) {
      migrate(c);
    } catch (SQLException | RuntimeException e) {
      pool.close();
      if (e instanceof StoreException se) {
        throw se;
      }
      throw new StoreException("cannot migrate the database " + url + ": " + rootMessage(e), e);
    }
    return new PostgresDatabase(pool);
  }

  /**
   * The server's database on PostgreSQL, for the node whose data directory is {@code dataDir}: that directory's
   * format manifest is checked first (a blob layout newer than this release is refused, as on Derby), and a
   * journal of mail a Derby store accepted but has not stored yet stops the start in one line (this engine has no
   * journal, so it would never be applied); then the pool and the migrations, then the manifest written.
   */
  public static PostgresDatabase open(Path dataDir, String url, String user, Path passwordFile, int poolSize) {
    DataFormat.check(dataDir);
    Path intake = DataDir.of(dataDir).intake();
    if (Intake.holdsRecords(intake)) {
      throw new StoreException("the intake journal " + intake + " holds mail accepted on Derby and not stored yet:"
          + " start this data directory once with [store] engine = \"derby\" (it stores the journal), then switch");
    }
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new StoreException("cannot create the data directory " + dataDir + ": "
          + org.darwinmail.errors.Errors.reason(e), e);
    }
    PostgresDatabase db = open(url, user, readPassword(passwordFile), poolSize);
    DataFormat.write(dataDir);
    log.info("store on PostgreSQL at {} as {} ({} connections at most)", url, user, poolSize);
    return db;
  }

  /** Why {@code darwinmail backup} (and a [backup] schedule) does not run on this engine, in one line. */
  public static final String NO_BACKUP = "the store is PostgreSQL: back it up with pg_dump (or the database"
      + " service's own backups), and the message bodies with the bucket's versioning or replication;"
      + " darwinmail backup copies a Derby data directory only";
  /** Why {@code darwinmail verify} does not run on this engine, in one line. */
  public static final String NO_VERIFY = "the store is PostgreSQL: darwinmail verify checks a Derby data directory"
      + " only (its checks of rows against blobs assume one node; PostgreSQL checks its own pages)";

  /** The password in {@code file}: its first line (a trailing newline is not part of it). */
  public static String readPassword(Path file) {
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8);
      int nl = s.indexOf('\n');
      return (nl < 0 ? s : s.substring(0, nl)).stripTrailing();
    } catch (IOException e) {
      throw new StoreException("cannot read the password file " + file + ": "
          + org.darwinmail.errors.Errors.reason(e), e);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : e.toString();
  }

  /** The migrations ({@link Migrations}), holding the advisory lock throughout; a newer schema is refused. */
  private static void migrate(Connection c) throws SQLException {
    Migrations.run(c, SqlDialect.POSTGRESQL, new Migrations.Hooks() {
      @Override
      public void lock(Connection c) throws SQLException {
        advisory(c, "pg_advisory_lock"); // waits while another node migrates
      }

      @Override
      public void unlock(Connection c) throws SQLException {
        advisory(c, "pg_advisory_unlock");
      }

      @Override
      public RuntimeException newer(int found) {
        return new StoreException("the PostgreSQL database holds schema " + found + ", written by a newer release of"
            + " Darwin Mail; this release reads up to " + Database.SCHEMA + ": run that release or a newer one");
      }
    });
  }

  private static void advisory(Connection c, String function) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT " + function + "(?)")) {
      ps.setLong(1, MIGRATION_LOCK);
      ps.execute();
    }
  }

  @Override
  public <T> T read(Database.SqlWork<T> work) {
    return retrying(work);
  }

  /**
   * A transaction as {@link SqlRunner#tx}, except that a connection lost in its COMMIT is reported as SQLSTATE
   * 08007 (transaction resolution unknown): the commit may have happened, so it is never run again.
   */
  @Override
  public <T> T tx(Database.SqlWork<T> work) {
    return read(c -> {
      c.setAutoCommit(false);
      T result;
      try {
        result = work.run(c);
      } catch (SQLException | RuntimeException e) {
        try {
          c.rollback();
          c.setAutoCommit(true);
        } catch (SQLException r) {
          e.addSuppressed(r);
        }
        throw e;
      }
      try {
        c.commit();
      } catch (SQLException e) {
        if (connectionLost(e.getSQLState())) {
          throw new SQLException("the connection to PostgreSQL was lost during COMMIT: " + e.getMessage(), "08007", e);
        }
        throw e;
      }
      c.setAutoCommit(true);
      return result;
    });
  }

  /**
   * Retries a serialization failure (40001) or a deadlock victim (40P01) after a short random pause, and work whose
   * connection was lost before it committed (PostgreSQL restarted: 57P01-57P03, or a connection error, class 08,
   * but not 08007) with a growing pause for up to about {@link #RECONNECT_MS} ms, while the pool opens new
   * connections; then the error goes to the caller (a session answers with a temporary error).
   */
  private <T> T retrying(Database.SqlWork<T> work) {
    long waited = 0;
    for (int attempt = 1; ; attempt++) {
      try (Connection c = pool.getConnection()) {
        return work.run(c);
      } catch (SQLException e) {
        String st = e.getSQLState();
        if (attempt < ATTEMPTS && ("40001".equals(st) || "40P01".equals(st))) {
          pause(1 + java.util.concurrent.ThreadLocalRandom.current().nextInt(10 * attempt));
          continue;
        }
        if (connectionLost(st) && !"08007".equals(st) && waited < RECONNECT_MS) {
          long ms = Math.min(2_000, 50L << Math.min(attempt, 6));
          log.info("PostgreSQL connection lost ({}: {}); trying again in {} ms", st, e.getMessage(), ms);
          pause(ms);
          waited += ms;
          continue;
        }
        throw new StoreException(e.getMessage(), e);
      }
    }
  }

  /** How long work waits, in all, for PostgreSQL to come back before its error is reported. */
  static final long RECONNECT_MS = 15_000;

  /** A connection gone: PostgreSQL shutting down or starting (57P01-57P03) or a connection error (class 08). */
  static boolean connectionLost(String sqlState) {
    return sqlState != null && (sqlState.startsWith("08") || sqlState.equals("57P01") || sqlState.equals("57P02")
        || sqlState.equals("57P03"));
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public SqlDialect dialect() {
    return SqlDialect.POSTGRESQL;
  }

  @Override
  public String node() {
    return node;
  }

  /**
   * A connection of its own, outside the pool, for the cluster channel's {@code LISTEN} ({@link PostgresClusterEvents}):
   * it stays open for the life of the node, so it must not hold a pooled one. Reads time out after
   * {@code socketTimeoutSeconds} (a peer gone silently is noticed), TCP keep-alive on.
   */
  Connection listenerConnection(int socketTimeoutSeconds) throws SQLException {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", pool.getUsername());
    p.setProperty("password", pool.getPassword());
    p.setProperty("socketTimeout", Integer.toString(socketTimeoutSeconds));
    p.setProperty("connectTimeout", "10");
    p.setProperty("tcpKeepAlive", "true");
    p.setProperty("ApplicationName", "darwinmail-listen");
    return java.sql.DriverManager.getConnection(pool.getJdbcUrl(), p);
  }

  @Override
  public void close() {
    pool.close();
  }
}
