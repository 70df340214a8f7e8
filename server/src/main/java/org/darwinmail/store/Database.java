package org.darwinmail.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded Derby database under {@code <data_dir>/db}, with a connection pool and numbered migrations
 * ({@code db/migration/V###__name.sql} on the class path) applied at start-up, after an automatic backup when the
 * database already holds data (ARCHITECTURE.md, "Durability rules").
 *
 * <p>Derby admits one process per database: a second process fails to open it with a clear error.
 */
public final class Database implements SqlRunner, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);
  /** The schema this release writes: its highest migration number (recorded in {@link DataFormat}'s manifest). */
  public static final int SCHEMA = Migrations.SCHEMA;

  private final Path dir;
  private final String url;
  /** Replaced by {@link #reopen} after the database stopped under it. */
  private volatile HikariDataSource pool;
  /** Guards {@link #reopen}; when the next attempt may be made (System.nanoTime), and whether the last one failed. */
  private final Object reopening = new Object();
  private long nextReopen;
  private boolean unavailable;
  private boolean closed;

  private Database(Path dir, String url, HikariDataSource pool) {
    this.dir = dir;
    this.url = url;
    this.pool = pool;
  }

  /**
   * Opens (creating when absent) the database in {@code dataDir/db} and migrates it, then records this release's
   * formats in the manifest. Data newer than this release understands is refused first, before anything is
   * written ({@link DataFormat#check}).
   */
  public static Database open(Path dataDir) {
    DataFormat.check(dataDir);
    Path dir = DataDir.of(dataDir).db().toAbsolutePath();
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new StoreException("cannot create the data directory " + dataDir + ": " + org.darwinmail.errors.Errors.reason(e), e);
    }
    requireWritable(dataDir);
    if (Files.isDirectory(dir)) {
      requireWritable(dir);
    }
    // Derby looks for a deadlock only after a lock wait of derby.locks.deadlockTimeout (default 20 s): look after
    // 1 s, so that the victim is retried (tx()) while its client still waits, instead of stalling sessions.
    if (System.getProperty("derby.locks.deadlockTimeout") == null) {
      System.setProperty("derby.locks.deadlockTimeout", "1");
    }
    // No index statistics (issue 22, session 26): with them Derby's optimizer chose the foreign key's index on
    // mailbox_id for the expunge's DELETE (mailbox_id = ? AND uid BETWEEN ? AND ?) and for changedSince (mailbox_id =
    // ? AND modseq > ?), visiting every row of the mailbox (5,007 rows for 5 deleted in a mailbox of 5,000) where the
    // plans made without them visit 6 and 48; the other statements measured had the same plans either way. The
    // automatic statistics also invalidated every statement of a table whose size doubled or halved, which Derby
    // then compiled again. dropStatistics removes what earlier releases left.
    if (System.getProperty("derby.storage.indexStats.auto") == null) {
      System.setProperty("derby.storage.indexStats.auto", "false");
    }
    if (System.getProperty("derby.stream.error.file") == null) {
      Path derbyLog = DataDir.of(dataDir.toAbsolutePath()).derbyLog();
      keepLog(derbyLog);
      System.setProperty("derby.stream.error.file", derbyLog.toString());
      // Appended to, not overwritten at each start (issue 23): what Derby said before a restart is kept.
      System.setProperty("derby.infolog.append", "true");
    }
    String url = "jdbc:derby:" + dir;
    try (Connection c = DriverManager.getConnection(url + ";create=true")) {
      migrate(c, dataDir);
      dropStatistics(c);
    } catch (StoreException e) {
      shutdown(url); // refused: the database is not left booted in this process
      throw e;
    } catch (SQLException e) {
      if ("XJ040".equals(e.getSQLState()) && hasCause(e, "XSDB6")) {
        throw new StoreException("the database " + dir + " is in use by another process (is the server running?)", e);
      }
      throw new StoreException("cannot open the database " + dir + ": " + rootMessage(e), e);
    }
    DataFormat.write(dataDir);
    return new Database(dir, url, firstPool(url));
  }

  /**
   * The pool a start opens. On a disk too full for its log Derby boots the database read-only, and a writable pool
   * cannot set up a connection (25505): the start then serves reads through a read-only pool, and the first write
   * (25502, {@link #stopped}) has {@link #reopen} boot it writable once space has come back. Without this a restart
   * on a full disk failed ("Failed to initialize pool") whenever Derby's boot found no room.
   */
  private static HikariDataSource firstPool(String url) {
    try {
      return newPool(url, false);
    } catch (RuntimeException e) {
      if (!stopped(e)) {
        throw e;
      }
      log.warn("the database booted read-only (is the disk full?): reading only until space comes back");
      return newPool(url, true);
    }
  }

  private static HikariDataSource newPool(String url, boolean readOnly) {
    HikariConfig hc = new HikariConfig();
    hc.setReadOnly(readOnly);
    hc.setJdbcUrl(url);
    hc.setMaximumPoolSize(24);
    hc.setMinimumIdle(2);
    hc.setPoolName("derby");
    hc.setAutoCommit(true);
    hc.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
    return new HikariDataSource(hc);
  }

  /**
   * Whether an error means the database stopped under the pool: Derby shuts a database down when it cannot write
   * its log (a full disk), its connections then answer 08003/08006; reconnecting boots it again, read-only while
   * the log still cannot be written (25505 when the pool sets up a connection, 25502 on a change), and it stays
   * read-only after space comes back, until it is shut down and booted again (issue 23: IMAP LOGIN answered
   * [UNAVAILABLE] until a restart).
   */
  private static boolean stopped(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      for (Throwable x : t.getSuppressed()) {
        if (stopped(x)) {
          return true;
        }
      }
      if (t instanceof SQLException s) {
        String st = s.getSQLState();
        if (st != null && (st.startsWith("08") || st.equals("25505") || st.equals("25502"))) {
          return true;
        }
        if (s.getNextException() != null && stopped(s.getNextException())) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Shuts the database down and boots it again with a new pool, in place of {@code broken} (once, however many
   * callers saw it fail; at most every 2 s). When it boots read-only again (no space yet) the new pool fails to
   * set up its first connection: the database is shut down again and the next call tries again. One log line per
   * change between available and not.
   */
  private void reopen(HikariDataSource broken) {
    synchronized (reopening) {
      if (closed || pool != broken || System.nanoTime() - nextReopen < 0) {
        return;
      }
      nextReopen = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(2);
      if (!unavailable) {
        log.error("the database {} stopped or became read-only (is the disk full?); reopening it", dir);
        unavailable = true;
      }
      broken.close();
      shutdown();
      try {
        pool = newPool(url, false);
        unavailable = false;
        log.info("the database {} is available again", dir);
      } catch (RuntimeException e) {
        shutdown(); // booted read-only: shut down again, so that the next attempt boots it afresh
      }
    }
  }

  private void shutdown() {
    shutdown(url);
  }

  private static void shutdown(String url) {
    try {
      DriverManager.getConnection(url + ";shutdown=true").close();
    } catch (SQLException e) {
      // 08006 is Derby's normal answer to a database shutdown; XJ004 / 08006 when it was not booted.
      if (!"08006".equals(e.getSQLState()) && !"XJ004".equals(e.getSQLState())) {
        log.warn("database shutdown: {}", e.getMessage());
      }
    }
  }

  /** False while the pool is the read-only one a start on a full disk opened ({@link #firstPool}). */
  @Override
  public boolean writable() {
    HikariDataSource p = pool;
    return !p.isClosed() && !p.isReadOnly();
  }

  /** A connection from the pool; a pool whose database stopped is replaced ({@link #reopen}) and the call fails. */
  private Connection borrow() throws SQLException {
    HikariDataSource p = pool;
    if (p.isClosed()) {
      reopen(p);
      p = pool;
      if (p.isClosed()) {
        throw new SQLException("the database is not available (is the disk full?)", "08001");
      }
    }
    try {
      return p.getConnection();
    } catch (SQLException e) {
      if (stopped(e)) {
        reopen(p);
      }
      throw e;
    }
  }

  /**
   * Fails with one line naming the folder and the cause ("permission denied", "read-only file system") when a file
   * cannot be made in it: Derby would otherwise fail deep in its boot with a stack trace per level, and print its
   * log to stderr when it cannot write {@code derby.log} (issue 23: 87-368 lines, the cause nowhere near the end).
   * A file is made and removed rather than permissions read: root ignores them, a read-only mount does not.
   */
  private static void requireWritable(Path folder) {
    try {
      Files.delete(Files.createTempFile(folder, ".write-test", null));
    } catch (IOException e) {
      throw new StoreException("cannot write to " + folder + ": " + org.darwinmail.errors.Errors.reason(e), e);
    }
  }

  /**
   * What a Derby error says, in its own words: Derby wraps a boot failure in levels of SQLException whose message is
   * "..., see the next exception for details", with the reason below; those levels are skipped.
   */
  static String rootMessage(SQLException e) {
    Throwable t = e;
    while (true) {
      if (t instanceof IOException io) {
        return org.darwinmail.errors.Errors.reason(io);
      }
      String m = t.getMessage();
      Throwable next = t instanceof SQLException s && s.getNextException() != null ? s.getNextException()
          : t.getCause();
      boolean onlyPointsOn = m == null || m.contains("see the next exception") || (next != null
          && m.equals(next.toString()));
      if (next == null || next == t || !onlyPointsOn) {
        return m != null ? m : e.getMessage();
      }
      t = next;
    }
  }

  /** Past this size, {@code derby.log} is renamed {@code derby.log.1} (replacing the one before) at start. */
  static final long LOG_ROTATE_BYTES = 1 << 20;

  private static void keepLog(Path derbyLog) {
    try {
      if (Files.size(derbyLog) > LOG_ROTATE_BYTES) {
        Files.move(derbyLog, derbyLog.resolveSibling("derby.log.1"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (java.nio.file.NoSuchFileException e) {
      // first start
    } catch (IOException e) {
      log.warn("cannot rotate {}: {}", derbyLog, e.getMessage());
    }
  }

  private static boolean hasCause(SQLException e, String state) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && state.equals(s.getSQLState())) {
        return true;
      }
      if (t instanceof SQLException s && s.getNextException() != null && hasCause(s.getNextException(), state)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Drops the index statistics Derby's automatic statistics made before they were turned off (see {@link #open}):
   * the optimizer would go on using them, stale, for the plans above. Nothing to do on a store that has none.
   */
  private static void dropStatistics(Connection c) throws SQLException {
    List<String[]> tables = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT DISTINCT sc.schemaname, t.tablename FROM sys.sysstatistics s"
            + " JOIN sys.systables t ON s.tableid = t.tableid JOIN sys.sysschemas sc ON t.schemaid = sc.schemaid")) {
      while (rs.next()) {
        tables.add(new String[] {rs.getString(1), rs.getString(2)});
      }
    }
    try (PreparedStatement drop = c.prepareStatement("CALL SYSCS_UTIL.SYSCS_DROP_STATISTICS(?, ?, NULL)")) {
      for (String[] t : tables) {
        drop.setString(1, t[0]);
        drop.setString(2, t[1]);
        drop.execute();
      }
    } catch (SQLException e) {
      // A database booted read-only (a full disk, firstPool): not a reason to refuse the start; the next one drops them.
      log.warn("cannot drop Derby's index statistics now: {}", e.getMessage());
      return;
    }
    if (!tables.isEmpty()) {
      log.info("dropped Derby's index statistics of {} table(s): the query plans are made without them", tables.size());
    }
  }

  /**
   * The migrations ({@link Migrations}); Derby's part: a schema newer than this release's is refused in the
   * manifest's words, after Derby's boot (which has written its own files, derby.log and its transaction log, by
   * then; nothing else has been), and a database that already holds data is backed up first.
   */
  private static void migrate(Connection c, Path dataDir) throws SQLException {
    Migrations.run(c, SqlDialect.DERBY, new Migrations.Hooks() {
      @Override
      public RuntimeException newer(int found) {
        return DataFormat.newer(dataDir, "a newer release of Darwin Mail", "database schema " + found
            + ", this release reads up to " + SCHEMA, "that release or a newer one");
      }

      @Override
      public void beforeMigrating(Connection c, String first) throws SQLException {
        backup(c, dataDir, "pre-" + first.substring(0, 4));
      }
    });
  }

  /**
   * The automatic backup before a migration: a whole {@link Backup} (the database by Derby's online backup, the blobs
   * hard-linked, the keys, the manifests, and the intake journal, not replayed yet at this point) into
   * {@code dataDir/backup/NAME-TIMESTAMP}, on the data disk that an upgrade keeps: a failed upgrade is rolled back by
   * starting the release before on it ({@code darwinmail backup restore}; README, "Rolling back an upgrade"). Until
   * 0.2.0 included it held the database alone, whose rows could name blobs the newer release had collected since.
   */
  private static void backup(Connection c, Path dataDir, String name) throws SQLException {
    log.info("backing up the data directory into {} before migrating", DataDir.of(dataDir).backup());
    try {
      // What a start killed during its backup left (only the process holding the database makes these)
      Backup.removePartial(DataDir.of(dataDir).backup(), "pre-");
      Backup.Created b = Backup.create(c, dataDir, DataDir.of(dataDir).backup(), name, true);
      log.info("backed up to {} ({} files, {} blobs)", b.path(), b.files(), b.blobs());
    } catch (IOException e) {
      throw new StoreException("cannot back up " + dataDir + " before migrating it: "
          + org.darwinmail.errors.Errors.reason(e) + "; nothing was migrated", e);
    }
  }

  public Connection connection() throws SQLException {
    return borrow();
  }

  /** Attempts of a transaction chosen as a deadlock victim or timed out on a lock, before the error goes up. */
  private static final int ATTEMPTS = 8;

  /**
   * Runs {@code work} on a connection of the pool (and {@link #tx} in one transaction on it), retrying on deadlock or
   * lock timeout (Derby 40001 / 40XL1 / 40XL2) after a short random pause that grows with each attempt, so that the
   * transactions that collided do not collide again; a database Derby stopped is reopened first.
   */
  @Override
  public <T> T read(SqlWork<T> work) {
    return retrying(work);
  }

  private <T> T retrying(SqlWork<T> work) {
    for (int attempt = 1; ; attempt++) {
      HikariDataSource p = pool;
      try (Connection c = borrow()) {
        return work.run(c);
      } catch (SQLException e) {
        if (stopped(e)) {
          reopen(p);
          if (pool != p && attempt < ATTEMPTS) {
            continue; // booted again, writable: the work goes to the new pool instead of failing its caller
          }
        }
        if (attempt < ATTEMPTS && retryable(e)) {
          pause(attempt);
          continue;
        }
        throw new StoreException(e.getMessage(), e);
      }
    }
  }

  private static boolean retryable(SQLException e) {
    String st = e.getSQLState();
    return "40001".equals(st) || "40XL1".equals(st) || "40XL2".equals(st);
  }

  private static void pause(int attempt) {
    try {
      Thread.sleep(1 + java.util.concurrent.ThreadLocalRandom.current().nextInt(10 * attempt));
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public SqlDialect dialect() {
    return SqlDialect.DERBY;
  }

  public Path directory() {
    return dir;
  }

  @Override
  public void close() {
    synchronized (reopening) {
      closed = true;
      pool.close();
      shutdown();
    }
  }

  /**
   * {@code db} as Derby, for what works on Derby's files alone (backup, verify); on another engine a
   * {@link StoreException} with {@code refusal} (one line: what to use instead).
   */
  public static Database derby(SqlRunner db, String refusal) {
    if (db instanceof Database d) {
      return d;
    }
    throw new StoreException(refusal);
  }

  @FunctionalInterface
  public interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }
}
