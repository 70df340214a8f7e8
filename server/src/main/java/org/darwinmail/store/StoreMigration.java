package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.darwinmail.s3.S3Client;

/**
 * Moves a store from one engine to the other ({@code darwinmail store migrate}, issue 20; ARCHITECTURE.md, "Moving a
 * store between engines"): a stopped Derby data directory into PostgreSQL (and its bodies into S3), or back. The
 * target's schema is made by the ordinary migrations when it is opened; then every body the rows name is copied
 * (checked against its name), every table in dependency order in batches that keep each row's key (ids, UIDs,
 * UIDVALIDITY, modseqs), and the identity counters are set past the copied maxima. Each batch commits together with
 * the table's progress in the target's {@value #RECORD} table, which also names the source: a run killed at any
 * instant is continued by the same command, and a target holding another source's data is refused. Verification
 * compares each table's row count and digest on both sides and hashes every body the target's rows name.
 */
public final class StoreMigration {
  /** The migration record in the target: one row per table ({@code done}, the last key copied), "" for the source. */
  public static final String RECORD = "darwinmail_migration";
  static final int BATCH = 1000;
  private static final int BLOB_THREADS = 8;
  private static final HexFormat HEX = HexFormat.of();
  private static final BigInteger MOD = BigInteger.ONE.shiftLeft(256);

  /** A table, its key columns (L: BIGINT, I: INT, S: text) and whether its first key is an identity column. */
  record Table(String name, List<String> keys, String keyTypes, boolean identity) {}

  /** Every table of schema {@link Database#SCHEMA}, parents before children ({@code schema_version} is made by each side's migrations). */
  static final List<Table> TABLES = List.of(
      new Table("domains", List.of("id"), "L", true),
      new Table("accounts", List.of("id"), "L", true),
      new Table("aliases", List.of("id"), "L", true),
      new Table("mailboxes", List.of("id"), "L", true),
      new Table("messages", List.of("id"), "L", true),
      new Table("expunged", List.of("mailbox_id", "uid"), "LL", false),
      new Table("orphan_subscriptions", List.of("account_id", "name"), "LS", false),
      new Table("store_state", List.of("name"), "S", false),
      new Table("intake", List.of("id"), "L", false),
      new Table("queue_messages", List.of("id"), "L", true),
      new Table("queue_recipients", List.of("id"), "L", true),
      new Table("sender_blocks", List.of("account"), "S", false),
      new Table("sender_recipients", List.of("account", "recipient"), "SS", false),
      new Table("sender_counts", List.of("account", "bucket"), "SL", false),
      new Table("sender_rates", List.of("account", "span", "bucket"), "SIL", false),
      new Table("blob_candidates", List.of("id"), "L", true),
      new Table("trace_events", List.of("id"), "L", true),
      new Table("urlauth_keys", List.of("mailbox_id"), "L", false),
      new Table("mta_sts_policies", List.of("domain"), "S", false),
      new Table("tls_rpt_counts", List.of("day", "domain", "result"), "SSS", false),
      new Table("tls_rpt_details", List.of("day", "domain", "result", "mx_host", "receiving_ip"), "SSSSS", false),
      new Table("tls_rpt_reports", List.of("day", "domain"), "SS", false),
      new Table("dkim_keys", List.of("domain", "selector"), "SS", false),
      new Table("tls_certificate", List.of("id"), "I", false));

  /**
   * One side of a migration: its database, its bodies, a description for messages and the migration record
   * ("derby /var/lib/darwinmail" or "postgresql jdbc:... as user", with the blobs' location), and where bodies are
   * staged before they go to this side's backend.
   */
  public record Side(String id, SqlRunner db, BlobBackend blobs, Path staging, String location)
      implements AutoCloseable {
    @Override
    public void close() {
      try {
        blobs.close();
      } catch (Exception e) {
        // nothing held that matters: the S3 client's connections
      }
      db.close();
    }
  }

  /**
   * Opens one side of a migration: Derby under {@code dataDir} (migrated by {@link Database#open}) when {@code url}
   * is null, else PostgreSQL (by {@link PostgresDatabase#open(String, String, String, int)}: no node manifest, four
   * connections); its bodies in {@code dataDir/blobs} when {@code s3} is null, else in that bucket.
   * {@code stagingDir}: the data directory whose {@code blobs/tmp} stages bodies on their way in (the same file
   * system as a files backend's). The caller ({@code cli.StoreCommand}) reads these from the configuration.
   */
  public static Side open(Path dataDir, String url, String user, Path passwordFile, S3Client.Settings s3,
      long cacheBytes, Path stagingDir) {
    Path dir = dataDir.toAbsolutePath().normalize();
    SqlRunner db = url != null ? PostgresDatabase.open(url, user, PostgresDatabase.readPassword(passwordFile), 4)
        : Database.open(dir);
    String location = s3 == null ? "files" : "s3 " + s3.endpoint() + " " + s3.bucket();
    BlobBackend blobs;
    try {
      blobs = s3 == null ? new FileBlobs(DataDir.of(dir).blobs()) : bucket(s3, DataDir.of(dir).blobs(), cacheBytes);
    } catch (RuntimeException e) {
      db.close();
      throw e;
    }
    String id = (url != null ? "postgresql " + url + " as " + user : "derby " + dir) + ", bodies in " + location;
    return new Side(id, db, blobs, DataDir.of(stagingDir).blobs().resolve("tmp"), location);
  }

  /**
   * Whether the data directory's intake journal holds mail a Derby store accepted and has not stored yet: the
   * source's start must store it before its rows are copied ({@link Intake}).
   */
  public static boolean journalPending(Path dataDir) {
    return Intake.holdsRecords(DataDir.of(dataDir).intake());
  }

  /** The bucket as a backend, listed once so that a wrong endpoint, bucket or key stops here in one line. */
  private static BlobBackend bucket(S3Client.Settings settings, Path root, long cacheBytes) {
    S3Client client = new S3Client(settings);
    try {
      client.list("darwinmail-probe/", null);
    } catch (IOException e) {
      client.close();
      throw new StoreException("blobs: cannot list bucket " + settings.bucket() + " at " + settings.endpoint() + ": "
          + org.darwinmail.errors.Errors.reason(e), e);
    }
    return new S3Blobs(client, root.resolve("cache"), cacheBytes, true);
  }

  /** What a verification found: per-table figures, the bodies checked, and every difference, in words. */
  public record Report(Map<String, String> tables, long blobs, List<String> problems, Duration took) {
    public boolean ok() {
      return problems.isEmpty();
    }
  }

  /** Copied figures of a migration run. */
  public record Copied(long rows, long blobsCopied, long blobsPresent, Duration took) {}

  private final Side source;
  private final Side target;
  private final Consumer<String> progress;
  /** For the tests: called after each batch commits with the table's name (throwing stops the run there). */
  Consumer<String> afterBatch = t -> {};
  /** Rows per batch (each one transaction on the target); smaller in the tests. */
  int batch = BATCH;

  public StoreMigration(Side source, Side target, Consumer<String> progress) {
    this.source = source;
    this.target = target;
    this.progress = progress;
  }

  /** Rows per batch: each batch is one transaction on the target. */
  public StoreMigration batch(int rows) {
    this.batch = rows;
    return this;
  }

  // ---- the copy --------------------------------------------------------------------------------------------------

  /** Copies what is not yet copied (the record says what is), then sets the identity counters and marks it done. */
  public Copied migrate() {
    long start = System.nanoTime();
    checkTables();
    claimTarget();
    long[] blobs = copyBlobs();
    long rows = 0;
    for (Table t : TABLES) {
      rows += copy(t);
    }
    for (Table t : TABLES) {
      if (t.identity()) {
        restartIdentity(t);
      }
    }
    target.db().tx(c -> {
      update(c, "UPDATE " + RECORD + " SET done = 1 WHERE tbl = ''");
      return null;
    });
    return new Copied(rows, blobs[0], blobs[1], Duration.ofNanos(System.nanoTime() - start));
  }

  /** Whether the target's record says a migration from {@code source} finished there. */
  public boolean done() {
    return target.db().read(c -> {
      if (!hasTable(c, RECORD)) {
        return false;
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT info, done FROM " + RECORD + " WHERE tbl = ''");
          ResultSet r = ps.executeQuery()) {
        return r.next() && r.getString(1).equals(source.id()) && r.getInt(2) == 1;
      }
    });
  }

  /** The source's tables must be the ones this release knows: a table added by a later migration is not lost. */
  private void checkTables() {
    TreeSet<String> known = new TreeSet<>();
    TABLES.forEach(t -> known.add(t.name()));
    known.add("schema_version");
    known.add(RECORD);
    for (String t : userTables(source.db())) {
      if (!known.contains(t)) {
        throw new RefusedException("the source holds a table this release does not copy (" + t + "): migrate with"
            + " the release that made it");
      }
    }
  }

  private static List<String> userTables(SqlRunner db) {
    return db.read(c -> {
      List<String> out = new ArrayList<>();
      boolean derby = db.dialect() == SqlDialect.DERBY;
      try (ResultSet r = c.getMetaData().getTables(null, derby ? "APP" : "public", "%", new String[] {"TABLE"})) {
        while (r.next()) {
          out.add(r.getString("TABLE_NAME").toLowerCase(Locale.ROOT));
        }
      }
      return out;
    });
  }

  /**
   * Makes the migration record when the target is empty, accepts it when it names this source, and refuses a
   * target holding data of another source (or data no migration put there).
   */
  private void claimTarget() {
    target.db().tx(c -> {
      if (hasTable(c, RECORD)) {
        try (PreparedStatement ps = c.prepareStatement("SELECT info FROM " + RECORD + " WHERE tbl = ''");
            ResultSet r = ps.executeQuery()) {
          if (r.next()) {
            if (!r.getString(1).equals(source.id())) {
              throw new RefusedException("the target holds data migrated from another store (" + r.getString(1)
                  + "), not from " + source.id() + ": give an empty target");
            }
            return null; // this source's migration, to be continued
          }
        }
      }
      for (Table t : TABLES) {
        if (t.name().equals("store_state") || t.name().equals("intake")) {
          continue; // the migrations' own first rows
        }
        long n = count(c, t.name());
        if (n > 0) {
          throw new RefusedException("the target is not empty (" + n + " row(s) in " + t.name() + ") and holds no"
              + " migration from " + source.id() + ": give an empty database");
        }
      }
      if (!hasTable(c, RECORD)) {
        try (Statement s = c.createStatement()) {
          s.execute("CREATE TABLE " + RECORD + " (tbl VARCHAR(128) NOT NULL PRIMARY KEY, info VARCHAR(4000),"
              + " copied BIGINT NOT NULL, done SMALLINT NOT NULL)");
        }
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + RECORD + " (tbl, info, copied, done)"
          + " VALUES ('', ?, 0, 0)")) {
        ps.setString(1, source.id());
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** Copies {@code t} from where the record says it stopped; each batch commits with its progress. */
  private long copy(Table t) {
    String[] state = target.db().read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT info, done, copied FROM " + RECORD + " WHERE tbl = ?")) {
        ps.setString(1, t.name());
        try (ResultSet r = ps.executeQuery()) {
          return r.next() ? new String[] {r.getString(1), Integer.toString(r.getInt(2)), Long.toString(r.getLong(3))}
              : null;
        }
      }
    });
    if (state != null && state[1].equals("1")) {
      return 0;
    }
    List<String> columns = columns(source.db(), t.name());
    List<String> targetColumns = columns(target.db(), t.name());
    if (!new TreeSet<>(columns).equals(new TreeSet<>(targetColumns))) {
      throw new RefusedException("table " + t.name() + " has columns " + columns + " in the source and "
          + targetColumns + " in the target");
    }
    if (state == null) {
      // First time here: what the target's migrations put in the table goes (store_state's and intake's first rows).
      target.db().tx(c -> {
        update(c, "DELETE FROM " + t.name());
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + RECORD + " (tbl, info, copied, done)"
            + " VALUES (?, NULL, 0, 0)")) {
          ps.setString(1, t.name());
          ps.executeUpdate();
        }
        return null;
      });
    }
    boolean derbyTarget = target.db().dialect() == SqlDialect.DERBY;
    if (t.identity() && derbyTarget) {
      // Derby takes no value for a GENERATED ALWAYS column: BY DEFAULT while the rows are copied (restartIdentity).
      target.db().read(c -> update(c, "ALTER TABLE " + t.name() + " ALTER COLUMN id SET GENERATED BY DEFAULT"));
    }
    String after = state == null ? null : state[0];
    long copied = state == null ? 0 : Long.parseLong(state[2]);
    String cols = String.join(", ", columns);
    String insert = "INSERT INTO " + t.name() + " (" + cols + ")"
        + (t.identity() && !derbyTarget ? " OVERRIDING SYSTEM VALUE" : "") + " VALUES ("
        + String.join(", ", java.util.Collections.nCopies(columns.size(), "?")) + ")";
    long n = 0;
    while (true) {
      String from = after;
      List<Object[]> rows = new ArrayList<>();
      int[] types = new int[columns.size()];
      source.db().read(c -> {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + cols + " FROM " + t.name()
            + (from == null ? "" : " WHERE " + afterKey(t)) + " ORDER BY " + String.join(", ", t.keys())
            + " FETCH FIRST " + batch + " ROWS ONLY")) {
          if (from != null) {
            bindAfter(ps, t, from);
          }
          try (ResultSet r = ps.executeQuery()) {
            ResultSetMetaData m = r.getMetaData();
            for (int i = 0; i < types.length; i++) {
              types[i] = m.getColumnType(i + 1);
            }
            while (r.next()) {
              Object[] row = new Object[types.length];
              for (int i = 0; i < row.length; i++) {
                row[i] = value(r, i + 1, types[i]);
              }
              rows.add(row);
            }
          }
        }
        return null;
      });
      if (rows.isEmpty()) {
        break;
      }
      Object[] last = rows.getLast();
      String lastKey = key(t, columns, last);
      long total = copied + n + rows.size();
      target.db().tx(c -> {
        try (PreparedStatement ps = c.prepareStatement(insert)) {
          for (Object[] row : rows) {
            for (int i = 0; i < row.length; i++) {
              if (row[i] == null) {
                ps.setNull(i + 1, types[i]);
              } else {
                ps.setObject(i + 1, row[i]);
              }
            }
            ps.addBatch();
          }
          ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE " + RECORD + " SET info = ?, copied = ? WHERE tbl = ?")) {
          ps.setString(1, lastKey);
          ps.setLong(2, total);
          ps.setString(3, t.name());
          ps.executeUpdate();
        }
        return null;
      });
      n += rows.size();
      after = lastKey;
      afterBatch.accept(t.name());
      if (rows.size() < batch) {
        break;
      }
    }
    target.db().tx(c -> {
      update(c, "UPDATE " + RECORD + " SET done = 1 WHERE tbl = '" + t.name() + "'");
      return null;
    });
    progress.accept(t.name() + ": " + (copied + n) + " rows" + (copied > 0 ? " (" + n + " in this run)" : ""));
    return n;
  }

  /** The next identity value past the copied maximum (and, on Derby, the column GENERATED ALWAYS again). */
  private void restartIdentity(Table t) {
    long max = target.db().read(c -> {
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT MAX(id) FROM " + t.name())) {
        r.next();
        return r.getLong(1);
      }
    });
    target.db().read(c -> {
      if (target.db().dialect() == SqlDialect.DERBY) {
        update(c, "ALTER TABLE " + t.name() + " ALTER COLUMN id SET GENERATED ALWAYS");
      }
      return update(c, "ALTER TABLE " + t.name() + " ALTER COLUMN id RESTART WITH " + (max + 1));
    });
  }

  /** Copies every body the source's rows name that the target lacks, 8 at a time; {copied, already there}. */
  private long[] copyBlobs() {
    List<String> hashes = blobsNamed(source.db());
    long[] counts = new long[2];
    forEachBlob(hashes, hash -> {
      if (target.blobs().exists(hash)) {
        synchronized (counts) {
          counts[1]++;
        }
        return null;
      }
      Files.createDirectories(target.staging());
      Path staged = target.staging().resolve("migrate-" + UUID.randomUUID() + ".tmp");
      try {
        MessageDigest sha = BlobStore.sha256();
        long size = 0;
        try (InputStream in = source.blobs().open(hash); OutputStream out = Files.newOutputStream(staged)) {
          byte[] buf = new byte[65536];
          for (int k; (k = in.read(buf)) > 0; ) {
            sha.update(buf, 0, k);
            out.write(buf, 0, k);
            size += k;
          }
        } catch (java.nio.file.NoSuchFileException e) {
          throw new StoreException("the source's body " + hash + " is missing: run darwinmail verify on the source");
        }
        if (!HEX.formatHex(sha.digest()).equals(hash)) {
          throw new StoreException("the source's body " + hash + " is damaged (its content does not hash to its"
              + " name): run darwinmail verify on the source");
        }
        BlobStore.force(staged);
        target.blobs().place(staged, hash);
        target.blobs().settle(staged, hash, size, false);
      } finally {
        Files.deleteIfExists(staged);
      }
      synchronized (counts) {
        counts[0]++;
      }
      return null;
    });
    progress.accept("bodies: " + counts[0] + " copied, " + counts[1] + " already in the target");
    return counts;
  }

  // ---- verification ----------------------------------------------------------------------------------------------

  /** Row counts and digests of every table on both sides, then every body the target's rows name, hashed. */
  public Report verify() {
    long start = System.nanoTime();
    List<String> problems = new ArrayList<>();
    Map<String, String> figures = new LinkedHashMap<>();
    for (Table t : TABLES) {
      String[] s = digest(source.db(), t);
      String[] d = digest(target.db(), t);
      figures.put(t.name(), s[0] + " rows");
      if (!s[0].equals(d[0])) {
        problems.add("table " + t.name() + ": " + s[0] + " rows in the source, " + d[0] + " in the target");
      } else if (!s[1].equals(d[1])) {
        problems.add("table " + t.name() + ": the rows differ (digest " + s[1].substring(0, 16) + " in the source, "
            + d[1].substring(0, 16) + " in the target)");
      }
    }
    List<String> hashes = blobsNamed(target.db());
    List<String> bad = java.util.Collections.synchronizedList(new ArrayList<>());
    forEachBlob(hashes, hash -> {
      MessageDigest sha = BlobStore.sha256();
      try (InputStream in = target.blobs().open(hash)) {
        byte[] buf = new byte[65536];
        for (int k; (k = in.read(buf)) > 0; ) {
          sha.update(buf, 0, k);
        }
      } catch (java.nio.file.NoSuchFileException e) {
        bad.add("body " + hash + ": missing in the target");
        return null;
      }
      if (!HEX.formatHex(sha.digest()).equals(hash)) {
        bad.add("body " + hash + ": damaged in the target (its content does not hash to its name)");
      }
      return null;
    });
    bad.stream().sorted().forEach(problems::add);
    return new Report(figures, hashes.size(), problems, Duration.ofNanos(System.nanoTime() - start));
  }

  /**
   * {count, digest}: the digest is the sum modulo 2^256 of each row's SHA-256 over its columns in name order (a
   * sum, so that it does not depend on the order each engine sorts text keys in; keys are unique, so no two rows
   * cancel out). Timestamps count to the microsecond, PostgreSQL's precision.
   */
  private static String[] digest(SqlRunner db, Table t) {
    List<String> columns = new ArrayList<>(new TreeSet<>(columns(db, t.name())));
    return db.tx(c -> {
      BigInteger sum = BigInteger.ZERO;
      long n = 0;
      try (Statement s = c.createStatement()) {
        s.setFetchSize(BATCH);
        try (ResultSet r = s.executeQuery("SELECT " + String.join(", ", columns) + " FROM " + t.name())) {
          ResultSetMetaData m = r.getMetaData();
          MessageDigest sha = BlobStore.sha256();
          while (r.next()) {
            for (int i = 1; i <= columns.size(); i++) {
              Object v = value(r, i, m.getColumnType(i));
              String text = v == null ? "\u0000null" : v instanceof Timestamp ts ? ts.toLocalDateTime().toString()
                  : v instanceof Number num ? Long.toString(num.longValue()) : v.toString();
              byte[] b = text.getBytes(StandardCharsets.UTF_8);
              sha.update((byte) (b.length >>> 24));
              sha.update((byte) (b.length >>> 16));
              sha.update((byte) (b.length >>> 8));
              sha.update((byte) b.length);
              sha.update(b);
            }
            sum = sum.add(new BigInteger(1, sha.digest()));
            n++;
          }
        }
      }
      String hex = sum.mod(MOD).toString(16);
      return new String[] {Long.toString(n), "0".repeat(64 - hex.length()) + hex};
    });
  }

  // ---- helpers ---------------------------------------------------------------------------------------------------

  private interface BlobWork {
    Void run(String hash) throws IOException;
  }

  /** Runs {@code work} for each hash, 8 at a time on virtual threads; the first failure stops the rest. */
  private static void forEachBlob(List<String> hashes, BlobWork work) {
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(BLOB_THREADS);
      List<Future<Void>> futures = new ArrayList<>();
      java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
      for (String h : hashes) {
        if (failed.get() != null) {
          break;
        }
        slots.acquireUninterruptibly();
        futures.add(pool.submit(() -> {
          try {
            return work.run(h);
          } catch (IOException | RuntimeException e) {
            failed.compareAndSet(null, e);
            throw e;
          } finally {
            slots.release();
          }
        }));
      }
      for (Future<Void> f : futures) {
        try {
          f.get();
        } catch (java.util.concurrent.ExecutionException e) {
          // reported below, the first one
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new StoreException("interrupted", e);
        }
      }
      Throwable e = failed.get();
      if (e instanceof RuntimeException re) {
        throw re;
      }
      if (e != null) {
        throw new StoreException("copying a body: " + org.darwinmail.errors.Errors.reason((IOException) e), e);
      }
    }
  }

  /** Every body a message or a queued message names, in hash order. */
  private static List<String> blobsNamed(SqlRunner db) {
    return db.tx(c -> {
      TreeSet<String> out = new TreeSet<>();
      for (String table : List.of("messages", "queue_messages")) {
        try (Statement s = c.createStatement()) {
          s.setFetchSize(BATCH);
          try (ResultSet r = s.executeQuery("SELECT DISTINCT blob FROM " + table)) {
            while (r.next()) {
              out.add(r.getString(1).strip());
            }
          }
        }
      }
      return new ArrayList<>(out);
    });
  }

  /** A column's value as it is copied: timestamps cut to the microsecond (PostgreSQL keeps no more). */
  private static Object value(ResultSet r, int i, int type) throws SQLException {
    Object v = switch (type) {
      case Types.SMALLINT, Types.INTEGER, Types.TINYINT -> r.getInt(i);
      case Types.BIGINT -> r.getLong(i);
      case Types.TIMESTAMP -> {
        Timestamp ts = r.getTimestamp(i);
        if (ts != null) {
          ts.setNanos(ts.getNanos() / 1000 * 1000);
        }
        yield ts;
      }
      default -> r.getString(i);
    };
    return r.wasNull() ? null : v;
  }

  private static List<String> columns(SqlRunner db, String table) {
    return db.read(c -> {
      List<String> out = new ArrayList<>();
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT * FROM " + table + " WHERE 1 = 0")) {
        ResultSetMetaData m = r.getMetaData();
        for (int i = 1; i <= m.getColumnCount(); i++) {
          out.add(m.getColumnName(i).toLowerCase(Locale.ROOT));
        }
      }
      return out;
    });
  }

  /**
   * {@code k1 > ? OR (k1 = ? AND (k2 > ? OR (k2 = ? AND k3 > ?)))}: after the last key copied, in the source's own
   * order.
   */
  private static String afterKey(Table t) {
    List<String> keys = t.keys();
    String out = keys.getLast() + " > ?";
    for (int i = keys.size() - 2; i >= 0; i--) {
      out = "(" + keys.get(i) + " > ? OR (" + keys.get(i) + " = ? AND " + out + "))";
    }
    return out;
  }

  private static void bindAfter(PreparedStatement ps, Table t, String key) throws SQLException {
    String[] parts = key.split(" ", -1);
    int p = 1;
    for (int i = 0; i < parts.length; i++) {
      String s = URLDecoder.decode(parts[i], StandardCharsets.UTF_8);
      Object v = switch (t.keyTypes().charAt(i)) {
        case 'L' -> Long.parseLong(s);
        case 'I' -> Integer.parseInt(s);
        default -> s;
      };
      ps.setObject(p++, v);
      if (i < parts.length - 1) {
        ps.setObject(p++, v); // "k > ?" and "k = ?"
      }
    }
  }

  /** The row's key as the record keeps it: each part URL-encoded, separated by spaces. */
  private static String key(Table t, List<String> columns, Object[] row) {
    List<String> parts = new ArrayList<>();
    for (String k : t.keys()) {
      parts.add(URLEncoder.encode(String.valueOf(row[columns.indexOf(k)]), StandardCharsets.UTF_8));
    }
    return String.join(" ", parts);
  }

  private static boolean hasTable(Connection c, String table) throws SQLException {
    boolean derby = c.getMetaData().getDatabaseProductName().toLowerCase(Locale.ROOT).contains("derby");
    try (ResultSet r = c.getMetaData().getTables(null, derby ? "APP" : "public",
        derby ? table.toUpperCase(Locale.ROOT) : table, new String[] {"TABLE"})) {
      return r.next();
    }
  }

  private static long count(Connection c, String table) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
      r.next();
      return r.getLong(1);
    }
  }

  private static int update(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      return s.executeUpdate(sql);
    }
  }
}
