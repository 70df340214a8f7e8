package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.darwinmail.errors.Errors;

/**
 * {@code darwinmail verify} (issue 18; ARCHITECTURE.md, "Backups"): the store's consistency, checked on a running
 * server's open store without stopping mail, on a stopped data directory, or on a backup's database
 * ({@link Backup#verify}). Every message and queued message's body exists and hashes to its name (a problem names the
 * message and its account); no blob is an orphan; in each mailbox the UIDs grow in the order the messages were stored
 * and stay below UIDNEXT, and its usage (what quotas count) is its messages' sizes; every queued message has
 * recipients and every recipient its message; the intake journal's applied number is the database's.
 *
 * <p>On a live store the rows move while they are read: a mailbox or queued message that looks wrong is read again
 * alone in one serializable transaction (a few rows locked for an instant) before it is reported, the blobs are kept
 * from collection for the whole check ({@link BlobStore#holdCollection}), and a blob no row names is an orphan only
 * when nothing names it at the end either, it awaits no collection and it is older than {@link #IN_FLIGHT} (a message
 * being received writes its blob before its rows). Queries only: the schema is the migrations' (read here as
 * {@link Backup} reads it, without a repository).
 */
public final class Verify {
  /** Problems kept in a report (the count goes on). */
  static final int MAX_PROBLEMS = 1000;
  /** A blob written this recently and not referenced yet may be a message being stored: not an orphan (yet). */
  static final Duration IN_FLIGHT = Duration.ofMinutes(1);
  private static final HexFormat HEX = HexFormat.of();

  private Verify() {}

  /** Problems found, at most {@link #MAX_PROBLEMS} kept, all counted. */
  static final class Problems implements Consumer<String> {
    final List<String> kept = new ArrayList<>();
    int count;

    @Override
    public void accept(String p) {
      if (count++ < MAX_PROBLEMS) {
        kept.add(p);
      }
    }
  }

  /**
   * What {@link #store} found: the rows and blobs it checked, the blobs no row names that are not problems (awaiting
   * collection, being stored), and the problems.
   */
  public record Report(long messages, long queued, long blobs, long unreferenced, List<String> problems,
      int problemCount, Duration took) {
    public boolean ok() {
      return problemCount == 0;
    }
  }

  /** Where a check reads rows: the store's {@link Database} (retrying), or one connection to a backup's copy. */
  @FunctionalInterface
  interface Rows {
    <T> T read(Database.SqlWork<T> work);
  }

  /** How a body is checked: null when whole, else "missing" or "damaged". */
  @FunctionalInterface
  interface Bodies {
    String check(String hash);
  }

  /**
   * Checks an open store (the running server's, or a stopped data directory opened by the CLI). {@code referenced}:
   * whether anything refers to a blob now (rows, the queue, the intake journal), asked again before a blob is
   * called an orphan.
   */
  public static Report store(SqlRunner store, MailStore mail, BlobStore blobs, Predicate<String> referenced) {
    Database db = Database.derby(store, PostgresDatabase.NO_VERIFY);
    long t0 = System.nanoTime();
    Instant start = Instant.now();
    Problems p = new Problems();
    Intake intake = mail.intake();
    // Acknowledged mail first in its mailboxes: a message still in the journal has no row yet.
    if (!mail.awaitIntake()) {
      p.accept("intake journal: accepted mail is not stored yet (the applier is stalled: is the disk full?)");
    }
    Rows rows = db::read;
    Scan scan;
    long unreferenced = 0;
    try (BlobStore.Hold hold = blobs.holdCollection()) {
      scan = scan(rows, hash -> body(blobs, hash), p, true);
      if (intake != null) {
        journal(db, intake, p);
      }
      Set<String> candidates = rows.read(c -> hashes(c, "SELECT DISTINCT hash FROM blob_candidates"));
      for (String hash : blobHashes(blobs.root(), p)) {
        if (scan.named.contains(hash)) {
          continue;
        }
        unreferenced++;
        if (referenced.test(hash) || candidates.contains(hash.strip())) {
          continue; // stored meanwhile, or its last message went and the collector has it in hand
        }
        try {
          if (Files.getLastModifiedTime(blobs.path(hash)).toInstant().isAfter(start.minus(IN_FLIGHT))) {
            continue; // being stored: its rows follow
          }
        } catch (IOException e) {
          continue; // collected meanwhile
        }
        p.accept("blobs/" + hash.substring(0, 2) + "/" + hash + ": an orphan (no message, queued message or journaled"
            + " message refers to it)");
      }
    }
    return new Report(scan.messages, scan.queued, scan.named.size(), unreferenced, List.copyOf(p.kept), p.count,
        Duration.ofNanos(System.nanoTime() - t0));
  }

  /** Null when the blob is there and hashes to its name; else what is wrong with it. */
  private static String body(BlobStore blobs, String hash) {
    if (!Backup.isHash(hash)) {
      return "named by something that is not a SHA-256";
    }
    if (!blobs.exists(hash)) {
      return "missing";
    }
    try (InputStream in = blobs.open(hash)) {
      return hashOf(in).equals(hash) ? null : "damaged";
    } catch (NoSuchFileException e) {
      return "missing";
    } catch (IOException e) {
      return "unreadable (" + Errors.reason(e) + ")";
    }
  }

  static String hashOf(InputStream in) throws IOException {
    MessageDigest d;
    try {
      d = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream din = new DigestInputStream(in, d)) {
      din.transferTo(java.io.OutputStream.nullOutputStream());
    }
    return HEX.formatHex(d.digest());
  }

  /** What {@link #scan} read: the rows, and every blob a row names. */
  record Scan(long messages, long queued, Set<String> named) {}

  /**
   * The checks on the rows, shared with {@link Backup#verify}: every body, the mailboxes' UIDs and usage, the
   * queue. {@code live}: rows may change while read, so a suspect is read again alone before it is reported.
   */
  static Scan scan(Rows rows, Bodies bodies, Consumer<String> p, boolean live) {
    // hash -> the messages that name it ("message UID 4 in a@b's INBOX"), read first, hashed after (no connection
    // is held while the blobs are read).
    Map<String, List<String>> users = new HashMap<>();
    long[] counts = new long[2];
    int schema = rows.read(Verify::schema);
    rows.read(c -> {
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT a.address, mb.name, m.uid,"
          + " m.blob FROM messages m JOIN mailboxes mb ON m.mailbox_id = mb.id JOIN accounts a ON mb.account_id"
          + " = a.id")) {
        while (rs.next()) {
          counts[0]++;
          users.computeIfAbsent(rs.getString(4).strip(), k -> new ArrayList<>(1))
              .add("message UID " + rs.getLong(3) + " in " + rs.getString(1) + "'s " + rs.getString(2));
        }
      }
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT id, sender, blob FROM queue_messages")) {
        while (rs.next()) {
          counts[1]++;
          users.computeIfAbsent(rs.getString(3).strip(), k -> new ArrayList<>(1))
              .add("queued message " + rs.getLong(1) + " from <" + rs.getString(2) + ">");
        }
      }
      return null;
    });
    for (Map.Entry<String, List<String>> e : users.entrySet()) {
      String h = e.getKey();
      String wrong = bodies.check(h);
      if (wrong != null) {
        for (String who : e.getValue()) {
          p.accept(who + ": its body blobs/" + h.substring(0, 2) + "/" + h + " is " + wrong);
        }
      }
    }
    mailboxes(rows, schema, p, live);
    queue(rows, p, live);
    return new Scan(counts[0], counts[1], users.keySet());
  }

  static int schema(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT MAX(version) FROM schema_version")) {
      return rs.next() ? rs.getInt(1) : 0;
    }
  }

  /**
   * Per mailbox: UIDs grow with the order the rows were stored (MailStore takes them from UIDNEXT under the mailbox
   * row's lock, in insertion order), all below UIDNEXT (else a new message would take a UID again, RFC 3501
   * 2.3.1.1), and the usage quotas are checked against (V005's used_bytes) equal to its messages' sizes.
   */
  private static void mailboxes(Rows rows, int schema, Consumer<String> p, boolean live) {
    boolean usage = schema >= 5;
    Map<Long, String> names = new HashMap<>();
    Set<Long> suspects = new HashSet<>();
    rows.read(c -> {
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT mb.id, a.address, mb.name,"
          + " mb.uid_next, " + (usage ? "mb.used_bytes" : "0") + ", MAX(m.uid), COALESCE(SUM(m.size), 0) FROM"
          + " mailboxes mb JOIN accounts a ON mb.account_id = a.id LEFT JOIN messages m ON m.mailbox_id = mb.id"
          + " GROUP BY mb.id, a.address, mb.name, mb.uid_next" + (usage ? ", mb.used_bytes" : ""))) {
        while (rs.next()) {
          long id = rs.getLong(1);
          names.put(id, rs.getString(2) + "'s " + rs.getString(3));
          long maxUid = rs.getLong(6);
          boolean uidWrong = !rs.wasNull() && maxUid >= rs.getLong(4);
          if (uidWrong || (usage && rs.getLong(5) != rs.getLong(7))) {
            suspects.add(id);
          }
        }
      }
      // Stored order: ids grow with each insert; a concurrent delivery adds higher ids with higher UIDs.
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT mailbox_id, uid FROM messages ORDER BY mailbox_id, id")) {
        long box = -1;
        long last = 0;
        while (rs.next()) {
          long id = rs.getLong(1);
          long uid = rs.getLong(2);
          if (id != box) {
            box = id;
          } else if (uid <= last) {
            p.accept(names.getOrDefault(id, "mailbox " + id) + ": UID " + uid + " was stored after UID " + last
                + " (UIDs must grow)");
          }
          if (uid < 1) {
            p.accept(names.getOrDefault(id, "mailbox " + id) + ": UID " + uid + " is not a valid UID");
          }
          last = uid;
        }
      }
      return null;
    });
    for (long id : suspects.stream().sorted().toList()) {
      String where = names.get(id);
      // Read again alone, in one serializable transaction: on a live store the first read may straddle a delivery.
      List<String> found = live ? serializable(rows, c -> mailbox(c, id, where, usage)) : rows.read(c -> mailbox(c,
          id, where, usage));
      found.forEach(p);
    }
  }

  private static List<String> mailbox(Connection c, long id, String where, boolean usage) throws SQLException {
    List<String> out = new ArrayList<>();
    long uidNext;
    long used;
    try (PreparedStatement ps = c.prepareStatement("SELECT uid_next, " + (usage ? "used_bytes" : "0")
        + " FROM mailboxes WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return out; // deleted meanwhile
        }
        uidNext = rs.getLong(1);
        used = rs.getLong(2);
      }
    }
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT MAX(uid), COALESCE(SUM(size), 0) FROM messages WHERE mailbox_id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        long maxUid = rs.getLong(1);
        if (!rs.wasNull() && maxUid >= uidNext) {
          out.add(where + ": UID " + maxUid + " is not below UIDNEXT " + uidNext);
        }
        if (usage && used != rs.getLong(2)) {
          out.add(where + ": its usage says " + used + " bytes, its messages add up to " + rs.getLong(2));
        }
      }
    }
    return out;
  }

  /** Every queued message has recipients, every recipient its message (Queue deletes both in one transaction). */
  private static void queue(Rows rows, Consumer<String> p, boolean live) {
    Set<Long> suspects = rows.read(c -> {
      Set<Long> out = new HashSet<>();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT m.id FROM queue_messages m"
          + " WHERE NOT EXISTS (SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id)")) {
        while (rs.next()) {
          out.add(rs.getLong(1));
        }
      }
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT DISTINCT r.message_id FROM"
          + " queue_recipients r WHERE NOT EXISTS (SELECT 1 FROM queue_messages m WHERE m.id = r.message_id)")) {
        while (rs.next()) {
          out.add(rs.getLong(1));
        }
      }
      return out;
    });
    for (long id : suspects.stream().sorted().toList()) {
      Database.SqlWork<String> again = c -> {
        long recipients;
        boolean message;
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM queue_recipients WHERE message_id = ?")) {
          ps.setLong(1, id);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            recipients = rs.getLong(1);
          }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM queue_messages WHERE id = ?")) {
          ps.setLong(1, id);
          try (ResultSet rs = ps.executeQuery()) {
            message = rs.next();
          }
        }
        if (message && recipients == 0) {
          return "queued message " + id + ": no recipient left, yet still queued";
        }
        if (!message && recipients > 0) {
          return "queue: " + recipients + " recipient(s) of queued message " + id + ", which is not there";
        }
        return null;
      };
      String found = live ? serializable(rows, again) : rows.read(again);
      if (found != null) {
        p.accept(found);
      }
    }
  }

  /** Runs {@code work} in one serializable transaction (a few rows, locked for an instant). */
  private static <T> T serializable(Rows rows, Database.SqlWork<T> work) {
    return rows.read(c -> {
      int isolation = c.getTransactionIsolation();
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
      try {
        T r = work.run(c);
        c.commit();
        return r;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setTransactionIsolation(isolation);
        c.setAutoCommit(true);
      }
    });
  }

  /**
   * The intake journal and the database agree: the {@code intake} row's applied sequence number lies between what
   * the journal had applied before it was read and what it had written after (the applier commits the row, then
   * moves its own number).
   */
  private static void journal(Database db, Intake intake, Consumer<String> p) {
    long applied = intake.appliedSeq();
    long inDb = db.read(c -> {
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT applied_seq FROM intake WHERE id = 1")) {
        return rs.next() ? rs.getLong(1) : -1L;
      }
    });
    long written = intake.writtenSeq();
    if (inDb < 0) {
      p.accept("intake journal: the database has no applied sequence number (its intake row is missing)");
    } else if (inDb < applied) {
      p.accept("intake journal: the database says messages up to " + inDb + " are stored, the journal says " + applied);
    } else if (inDb > written) {
      p.accept("intake journal: the database says messages up to " + inDb + " are stored, the journal only wrote up to "
          + written);
    }
  }

  static Set<String> hashes(Connection c, String sql) throws SQLException {
    Set<String> out = new HashSet<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1).strip());
      }
    }
    return out;
  }

  /**
   * The blobs under {@code root} ({@code ab/<sha-256>}); anything else there but {@code tmp/} is a problem. A live
   * check walks while mail arrives and is expunged: {@code tmp/} (bodies being written, renamed into place or removed
   * at any moment) is not entered, and a file gone between its folder's listing and its {@code stat} (collected, or
   * renamed) is passed over instead of ending the walk.
   */
  static List<String> blobHashes(Path root, Consumer<String> p) {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return out;
    }
    try {
      Files.walkFileTree(root, Set.of(), 2, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
          return root.relativize(d).toString().equals("tmp") ? FileVisitResult.SKIP_SUBTREE
              : FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
          Path rel = root.relativize(f);
          if (rel.getNameCount() != 2 || a.isDirectory()) {
            return FileVisitResult.CONTINUE;
          }
          String name = f.getFileName().toString();
          if (Backup.isHash(name) && rel.getName(0).toString().equals(name.substring(0, 2))) {
            out.add(name);
          } else {
            p.accept("blobs/" + rel.toString().replace('\\', '/') + ": not a blob (its name is not its SHA-256 in its"
                + " folder)");
          }
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
          if (e instanceof NoSuchFileException) {
            return FileVisitResult.CONTINUE;
          }
          throw e;
        }
      });
    } catch (IOException e) {
      p.accept("blobs/: cannot list it: " + e.getMessage());
    }
    return out;
  }
}
