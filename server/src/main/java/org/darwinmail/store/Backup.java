package org.darwinmail.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;
import org.darwinmail.errors.Errors;
import org.darwinmail.release.Release;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backups of a data directory (ARCHITECTURE.md, "Backups"; issue 18): {@link #create} writes a folder
 * {@code <dest>/<prefix>-<yyyyMMdd-HHmmss>/} holding a Derby online backup of the database ({@code db/}, consistent at
 * one instant while the server runs), every blob ({@code blobs/ab/<sha-256>}: hard links when the destination is on
 * the data directory's file system or holds an earlier backup with the same blob, copies otherwise; downloads from the
 * bucket when {@code [blobs] backend = "s3"}, but for those the earlier backup holds or, staged for a bucket
 * destination, those that destination holds), the TLS and DKIM
 * keys, the admin console's accounts and wizard state, the settings overlay and the data format manifest, and last a {@code MANIFEST}: the backup format, the
 * release, the formats of the data in it, and a SHA-256 per file (a blob's name is its SHA-256). The folder is
 * written as {@code <name>.partial} and renamed when complete. {@link #verify} checks every file against the manifest,
 * every blob against its name, and boots a copy of the database to check that every message's body is there.
 * {@link #restore} fills an empty data directory from a verified backup (the bodies as files, or uploaded to the bucket
 * the restoring configuration names: {@link BlobsInto}); the backup itself is never booted, so no
 * migration ever runs on it (the restored directory is migrated by its first start, as any older data).
 */
public final class Backup {
  private static final Logger log = LoggerFactory.getLogger(Backup.class);
  /** The backup format this release writes and reads (the layout above and the MANIFEST's keys). */
  public static final int FORMAT = 1;
  public static final String MANIFEST = "MANIFEST";
  /** What a backup keeps besides db/ and blobs/, when the data directory has it. */
  private static final List<String> KEPT = List.of(DataDir.TLS, DataDir.DKIM, DataDir.ADMIN, DataDir.SETTINGS, DataDir.FORMAT);
  /** Longest MANIFEST line read: a path and a hash are far shorter. */
  private static final int MAX_LINE = 4096;
  /** Problems kept in a report (the count goes on). */
  private static final int MAX_PROBLEMS = 1000;
  private static final HexFormat HEX = HexFormat.of();
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private Backup() {}

  /**
   * What {@link #create} wrote: the folder, its files besides blobs, its blobs and how many were linked, their bytes,
   * and the messages counted just after the database copy (the copy's own count when no mail arrived meanwhile;
   * {@link #verify} counts the copy's rows).
   */
  public record Created(Path path, int files, int blobs, int linked, long bytes, long messages) {}

  /**
   * Backs up {@code dataDir} into a new folder under {@code destDir}, using {@code c} (a connection to the data
   * directory's database) for Derby's online backup. The caller makes sure every acknowledged message is in the
   * database first and that no blob is collected meanwhile ({@link BlobStore#holdCollection}); {@code withIntake}
   * also copies the intake journal (for a backup taken before the journal is replayed: the one before a migration).
   */
  public static Created create(Connection c, Path dataDir, Path destDir, String prefix, boolean withIntake)
      throws SQLException, IOException {
    return create(c, dataDir, destDir, prefix, withIntake, null);
  }

  /**
   * {@link #create}, the bodies read from {@code bucket} when they are in one ({@code [blobs] backend = "s3"}; null:
   * files in the data directory): every object named like a blob, linked from the destination's newest earlier
   * backup when it holds it, else downloaded ({@link BucketBackup#PARALLEL} at a time) and kept only when it hashes
   * to its name.
   */
  public static Created create(Connection c, Path dataDir, Path destDir, String prefix, boolean withIntake,
      BlobBackend bucket) throws SQLException, IOException {
    return create(c, dataDir, destDir, prefix, withIntake, bucket, Map.of());
  }

  /**
   * {@link #create} from a bucket, but for the bodies in {@code elsewhere} (hash to size): those the final
   * destination holds already (a bucket backup's destination, {@link BucketBackup#online}). They are listed in the
   * MANIFEST like every body but neither downloaded nor written here: the folder is a staged copy, complete once
   * uploaded beside them. {@link #verify(Path, Set)} is told of them.
   */
  static Created create(Connection c, Path dataDir, Path destDir, String prefix, boolean withIntake,
      BlobBackend bucket, Map<String, Long> elsewhere) throws SQLException, IOException {
    if (Files.exists(destDir) && !Files.isDirectory(destDir)) {
      throw new IOException("not a folder");
    }
    Files.createDirectories(destDir);
    Path dest = destDir.toAbsolutePath();
    String name = prefix + "-" + STAMP.format(Instant.now());
    for (int i = 2; Files.exists(dest.resolve(name)) || Files.exists(dest.resolve(name + ".partial")); i++) {
      name = prefix + "-" + STAMP.format(Instant.now()) + "-" + i;
    }
    Path work = dest.resolve(name + ".partial");
    Files.createDirectory(work);
    try {
      // Mail and private keys: the owner's alone, whatever the destination's mode (copies get the umask's).
      Files.setPosixFilePermissions(work, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: its own access control
    }
    try {
      return write(c, dataDir, dest, work, name, withIntake, bucket, elsewhere);
    } catch (SQLException | IOException | RuntimeException e) {
      deleteTree(work); // nothing half-written stays: the next attempt starts clean
      throw e;
    }
  }

  private static Created write(Connection c, Path dataDir, Path dest, Path work, String name, boolean withIntake,
      BlobBackend bucket, Map<String, Long> elsewhere) throws SQLException, IOException {
    Path previous = latest(dest);
    try (PreparedStatement ps = c.prepareStatement("CALL SYSCS_UTIL.SYSCS_BACKUP_DATABASE(?)")) {
      ps.setString(1, work.toString()); // Derby writes work/<database folder name>: work/db
      ps.execute();
    }
    Map<String, String> head = new LinkedHashMap<>();
    head.put("backup_format", Integer.toString(FORMAT));
    head.put("written_by", Release.VERSION);
    head.put("created", Instant.now().toString());
    Properties format = dataFormat(dataDir);
    head.put("readable_from", format.getProperty("readable_from", "0.1.0"));
    head.put("database_schema", Integer.toString(schema(c)));
    head.put("intake_journal", format.getProperty("intake_journal", "1"));
    head.put("blob_layout", format.getProperty("blob_layout", "1"));
    head.put("blob_backend", bucket == null ? "files" : "s3"); // where the bodies were; a restore puts them where told
    head.put("messages", Long.toString(count(c, "messages")));
    head.put("queued", Long.toString(count(c, "queue_messages")));

    List<String> fileLines = new ArrayList<>();
    long[] bytes = {0};
    for (Path f : list(work.resolve("db"))) {
      fileLines.add(fileLine(work, f, bytes));
    }
    List<String> kept = new ArrayList<>(KEPT);
    if (withIntake) {
      kept.add("intake");
    }
    for (String k : kept) {
      Path src = dataDir.resolve(k);
      if (!Files.exists(src)) {
        continue;
      }
      for (Path f : list(src)) {
        Path target = work.resolve(dataDir.relativize(f).toString());
        Files.createDirectories(target.getParent());
        Files.copy(f, target, StandardCopyOption.COPY_ATTRIBUTES);
        BlobStore.force(target);
        fileLines.add(fileLine(work, target, bytes));
      }
    }
    int blobs = 0;
    int linked = 0;
    List<String> blobLines = new ArrayList<>();
    Path blobRoot = dataDir.resolve("blobs");
    if (bucket != null) {
      Map<String, Long> got = fromBucket(bucket, work, previous, elsewhere);
      for (Map.Entry<String, Long> e : new java.util.TreeMap<>(got).entrySet()) {
        blobs++;
        blobLines.add("blob=" + e.getKey());
        if (e.getValue() == ELSEWHERE) {
          bytes[0] += elsewhere.get(e.getKey());
          continue;
        }
        if (e.getValue() < 0) {
          linked++;
        }
        bytes[0] += Files.size(work.resolve("blobs").resolve(e.getKey().substring(0, 2)).resolve(e.getKey()));
      }
    } else if (Files.isDirectory(blobRoot) || withIntake) {
      // The journal's bodies (the backup before a migration, taken before the journal is replayed): the blob file
      // of a journaled message is written unforced and without a temporary file, so a process killed meanwhile
      // leaves it empty or short (and a power cut, any blob the journal still names); the start that replays the
      // journal rewrites it, but a link taken now would keep the torn file. Such a blob goes into the backup from
      // the journal's copy instead, and so does one the journal holds that has no file yet.
      Map<String, byte[]> journaled = withIntake ? Intake.journaledBodies(dataDir.resolve(DataDir.INTAKE))
          : new HashMap<>();
      for (Path f : Files.isDirectory(blobRoot) ? list(blobRoot) : List.<Path>of()) {
        String hash = f.getFileName().toString();
        if (!isHash(hash) || !f.getParent().getFileName().toString().equals(hash.substring(0, 2))) {
          continue; // blobs/tmp/ and anything not a blob
        }
        Path target = work.resolve("blobs").resolve(hash.substring(0, 2)).resolve(hash);
        Files.createDirectories(target.getParent());
        byte[] body = journaled.remove(hash);
        if (body != null && !whole(f, hash)) {
          writeForced(target, body);
          blobs++;
          blobLines.add("blob=" + hash);
          bytes[0] += body.length;
          continue;
        }
        Path old = previous == null ? null : previous.resolve("blobs").resolve(hash.substring(0, 2)).resolve(hash);
        if (link(f, target) || (old != null && Files.isRegularFile(old) && link(old, target))) {
          linked++;
        } else if (!copyBlob(f, target, hash)) {
          continue; // being written (not stored yet when the database was copied) or gone
        }
        blobs++;
        blobLines.add("blob=" + hash);
        bytes[0] += Files.size(target);
      }
      for (Map.Entry<String, byte[]> e : new java.util.TreeMap<>(journaled).entrySet()) {
        Path target = work.resolve("blobs").resolve(e.getKey().substring(0, 2)).resolve(e.getKey());
        Files.createDirectories(target.getParent());
        writeForced(target, e.getValue()); // journaled, no file yet: the replay would write it
        blobs++;
        blobLines.add("blob=" + e.getKey());
        bytes[0] += e.getValue().length;
      }
    }
    head.put("blobs", Integer.toString(blobs));
    syncFileSystem(work);
    Path manifest = work.resolve(MANIFEST);
    Path tmp = work.resolve(MANIFEST + ".new");
    try (OutputStream out = Files.newOutputStream(tmp)) {
      StringBuilder b = new StringBuilder("# Darwin Mail backup (ARCHITECTURE.md, \"Backups\"); checked by"
          + " `darwinmail backup verify`: do not edit.\n");
      head.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
      out.write(b.toString().getBytes(StandardCharsets.UTF_8));
      for (String l : fileLines) {
        out.write((l + "\n").getBytes(StandardCharsets.UTF_8));
      }
      for (String l : blobLines) {
        out.write((l + "\n").getBytes(StandardCharsets.UTF_8));
      }
    }
    BlobStore.force(tmp);
    Files.move(tmp, manifest, StandardCopyOption.ATOMIC_MOVE);
    BlobStore.force(work);
    Path done = dest.resolve(name);
    Files.move(work, done, StandardCopyOption.ATOMIC_MOVE);
    BlobStore.force(dest);
    log.info("backup {}: {} files, {} blobs ({} linked), {} bytes", done, fileLines.size(), blobs, linked, bytes[0]);
    return new Created(done, fileLines.size(), blobs, linked, bytes[0], Long.parseLong(head.get("messages")));
  }

  /**
   * Every body in {@code bucket} into {@code work/blobs/}: linked from {@code previous} (the destination's newest
   * backup) when there, else downloaded and kept only when it hashes to its name (an object is whole once listed;
   * one that does not hash to its name is left out, as a damaged file would be, and reported by the backup's verify
   * for each message that names it), but for those {@code elsewhere} names, which are not fetched at all. Returns
   * each body kept: -1 when linked, {@link #ELSEWHERE} when left where it is, else its size.
   */
  private static Map<String, Long> fromBucket(BlobBackend bucket, Path work, Path previous,
      Map<String, Long> elsewhere) throws IOException {
    List<String> hashes = new ArrayList<>();
    bucket.sweep((key, written) -> {
      hashes.add(key); // sweep visits every key named like a blob; false: none removed
      return false;
    });
    Map<String, Long> got = new java.util.concurrent.ConcurrentHashMap<>();
    List<String> fetched = new ArrayList<>();
    for (String hash : hashes) {
      if (elsewhere.containsKey(hash)) {
        got.put(hash, ELSEWHERE);
      } else {
        fetched.add(hash);
      }
    }
    BucketBackup.parallel(fetched, hash -> {
      Path target = work.resolve("blobs").resolve(hash.substring(0, 2)).resolve(hash);
      Files.createDirectories(target.getParent());
      Path old = previous == null ? null : previous.resolve("blobs").resolve(hash.substring(0, 2)).resolve(hash);
      if (old != null && Files.isRegularFile(old) && link(old, target)) {
        got.put(hash, -1L);
        return;
      }
      MessageDigest d = sha256();
      try (InputStream in = new DigestInputStream(bucket.open(hash), d);
          OutputStream out = Files.newOutputStream(target)) {
        in.transferTo(out);
      } catch (NoSuchFileException e) {
        Files.deleteIfExists(target);
        return; // deleted since the listing: no row of the database copy names it (collection is held)
      }
      if (!HEX.formatHex(d.digest()).equals(hash)) {
        log.warn("backup: the body {} in {} does not hash to its name; left out", hash, bucket.describe());
        Files.delete(target);
        return;
      }
      got.put(hash, Files.size(target));
    });
    return got;
  }

  /** {@link #fromBucket}'s mark of a body the destination holds already: listed, not fetched. */
  private static final long ELSEWHERE = -2;

  /** One backup at a time in this process: a scheduled one and {@code backup create} wait for each other. */
  private static final java.util.concurrent.locks.ReentrantLock ONE = new java.util.concurrent.locks.ReentrantLock();

  /**
   * An online backup of an open store into a new folder under {@code dest}: every message acknowledged before the
   * call stored first ({@link MailStore#awaitIntake}: the journal is then not part of the copy), no blob collected
   * meanwhile, then {@link #create}. The running server's {@code backup create} and its scheduled backups.
   */
  public static Created online(SqlRunner store, MailStore mail, BlobStore blobs, Path dataDir, Path dest,
      String prefix) {
    return online(store, mail, blobs, dataDir, dest, prefix, Map.of());
  }

  /** {@link #online}, the bodies in {@code elsewhere} not fetched from the store's bucket ({@link #create}). */
  static Created online(SqlRunner store, MailStore mail, BlobStore blobs, Path dataDir, Path dest, String prefix,
      Map<String, Long> elsewhere) {
    Database db = Database.derby(store, PostgresDatabase.NO_BACKUP);
    ONE.lock();
    try {
      if (!mail.awaitIntake()) {
        throw new StoreException("accepted mail cannot be stored right now (is the disk full?); no backup made");
      }
      try (BlobStore.Hold hold = blobs.holdCollection()) {
        BlobBackend bucket = blobs.backend() instanceof S3Blobs b ? b : null;
        return db.read(c -> {
          try {
            return create(c, dataDir, dest, prefix, false, bucket, bucket == null ? Map.of() : elsewhere);
          } catch (IOException e) {
            throw new StoreException("cannot back up into " + dest + ": " + Errors.reason(e), e);
          }
        });
      }
    } finally {
      ONE.unlock();
    }
  }

  /** Removes the {@code <prefix>*.partial} folders in {@code dest}: backups a killed process left unfinished. */
  static void removePartial(Path dest, String prefix) throws IOException {
    if (!Files.isDirectory(dest)) {
      return;
    }
    try (Stream<Path> s = Files.list(dest)) {
      for (Path p : s.toList()) {
        String n = p.getFileName().toString();
        if (n.startsWith(prefix) && n.endsWith(".partial") && Files.isDirectory(p)) {
          log.info("removing {}, a backup left unfinished", p);
          deleteTree(p);
        }
      }
    }
  }

  /** The newest complete backup in {@code dest} (its blobs can be linked from), or null. */
  private static Path latest(Path dest) throws IOException {
    Path best = null;
    try (Stream<Path> s = Files.list(dest)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (Files.isRegularFile(p.resolve(MANIFEST)) && Files.isDirectory(p.resolve("blobs"))
            && (best == null || Files.getLastModifiedTime(p.resolve(MANIFEST)).compareTo(
                Files.getLastModifiedTime(best.resolve(MANIFEST))) > 0)) {
          best = p;
        }
      }
    }
    return best;
  }

  private static boolean link(Path existing, Path target) {
    try {
      Files.createLink(target, existing);
      return true;
    } catch (FileAlreadyExistsException e) {
      return true;
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return false; // another file system: copied instead
    }
  }

  /** Whether {@code f} holds the content its name is the SHA-256 of (false when it is gone). */
  private static boolean whole(Path f, String hash) throws IOException {
    try {
      return hash(f).equals(hash);
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /** A new file holding {@code bytes}, forced. */
  private static void writeForced(Path target, byte[] bytes) throws IOException {
    Files.write(target, bytes, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
    BlobStore.force(target);
  }

  /** Copies a blob, keeping it only when its content hashes to its name; forced. */
  private static boolean copyBlob(Path src, Path target, String hash) throws IOException {
    MessageDigest d = sha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(src), d);
        OutputStream out = Files.newOutputStream(target)) {
      in.transferTo(out);
    } catch (NoSuchFileException e) {
      return false;
    }
    if (!HEX.formatHex(d.digest()).equals(hash)) {
      Files.delete(target);
      return false;
    }
    BlobStore.force(target);
    return true;
  }

  /** One {@code syncfs(2)} of the backup's file system (linked blobs were written by the server, maybe unforced). */
  private static void syncFileSystem(Path folder) {
    try {
      Process p = new ProcessBuilder("sync", "-f", folder.toString()).redirectErrorStream(true).start();
      p.getInputStream().transferTo(OutputStream.nullOutputStream());
      if (p.waitFor() == 0) {
        return;
      }
    } catch (IOException e) {
      // no sync(1): each file below
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      for (Path f : list(folder)) {
        BlobStore.force(f);
      }
    } catch (IOException e) {
      log.warn("cannot force the backup {} to disk: {}", folder, Errors.reason(e));
    }
  }

  private static String fileLine(Path root, Path f, long[] bytes) throws IOException {
    long size = Files.size(f);
    bytes[0] += size;
    return "file=" + hash(f) + " " + size + " " + root.relativize(f).toString().replace('\\', '/');
  }

  private static int schema(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT MAX(version) FROM schema_version")) {
      return rs.next() ? rs.getInt(1) : 0;
    }
  }

  private static long count(Connection c, String table) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
      return rs.next() ? rs.getLong(1) : 0;
    } catch (SQLException e) {
      if ("42X05".equals(e.getSQLState())) {
        return 0; // no such table (yet)
      }
      throw e;
    }
  }

  private static Properties dataFormat(Path dataDir) {
    Properties p = new Properties();
    Path f = dataDir.resolve(DataFormat.FILE);
    if (Files.isRegularFile(f)) {
      try (var r = Files.newBufferedReader(f)) {
        p.load(r);
      } catch (IOException | IllegalArgumentException e) {
        log.warn("cannot read {} for the backup's manifest: {}", f, e.getMessage());
      }
    }
    return p;
  }

  // ---- reading a backup --------------------------------------------------------------------------------------

  /** A backup's MANIFEST: its header keys, its files (path to "sha256 size") and its blobs. */
  public record Manifest(Path folder, Map<String, String> head, Map<String, String[]> files, Set<String> blobs) {
    public String get(String key) {
      return head.getOrDefault(key, "");
    }

    int number(String key) {
      try {
        return Integer.parseInt(get(key).strip());
      } catch (NumberFormatException e) {
        throw new StoreException("the backup " + folder + " has a damaged MANIFEST (" + key + " is not a number)");
      }
    }
  }

  /** Reads a backup's MANIFEST (bounded lines); one line when it cannot. */
  public static Manifest manifest(Path folder) {
    Path f = folder.resolve(MANIFEST);
    Map<String, String> head = new LinkedHashMap<>();
    Map<String, String[]> files = new LinkedHashMap<>();
    Set<String> blobs = new HashSet<>();
    try (BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
      int lineNo = 0;
      StringBuilder line = new StringBuilder();
      while (readLine(r, line)) {
        lineNo++;
        String l = line.toString();
        if (l.isBlank() || l.startsWith("#")) {
          continue;
        }
        int eq = l.indexOf('=');
        if (eq <= 0) {
          throw new StoreException("the backup " + folder + " has a damaged MANIFEST (line " + lineNo + ")");
        }
        String k = l.substring(0, eq);
        String v = l.substring(eq + 1);
        switch (k) {
          case "file" -> {
            String[] parts = v.split(" ", 3);
            if (parts.length != 3 || !isHash(parts[0]) || !parts[1].matches("[0-9]{1,18}") || unsafe(parts[2])) {
              throw new StoreException("the backup " + folder + " has a damaged MANIFEST (line " + lineNo + ")");
            }
            files.put(parts[2], new String[] {parts[0], parts[1]});
          }
          case "blob" -> {
            if (!isHash(v)) {
              throw new StoreException("the backup " + folder + " has a damaged MANIFEST (line " + lineNo + ")");
            }
            blobs.add(v);
          }
          default -> head.put(k, v);
        }
      }
    } catch (NoSuchFileException e) {
      throw new StoreException(folder + " is not a backup (no " + MANIFEST + ")");
    } catch (IOException e) {
      throw new StoreException("cannot read " + f + ": " + Errors.reason(e));
    }
    return new Manifest(folder, head, files, blobs);
  }

  private static boolean readLine(BufferedReader r, StringBuilder line) throws IOException {
    line.setLength(0);
    int ch;
    boolean any = false;
    while ((ch = r.read()) != -1) {
      any = true;
      if (ch == '\n') {
        return true;
      }
      if (line.length() >= MAX_LINE) {
        throw new IOException("a MANIFEST line is longer than " + MAX_LINE + " characters");
      }
      line.append((char) ch);
    }
    return any;
  }

  /** A manifest path that would leave the backup's folder. */
  private static boolean unsafe(String path) {
    return path.startsWith("/") || path.contains("\\") || List.of(path.split("/")).contains("..") || path.isEmpty();
  }

  /**
   * Refuses (one line) a backup this release cannot read: a newer backup format, data formats newer than this
   * release's, or data readable only from a newer release.
   */
  public static void checkReadable(Manifest m) {
    String writer = m.get("written_by").isEmpty() ? "an unknown release" : "Darwin Mail " + m.get("written_by");
    String fix = "restore it with " + (m.get("written_by").isEmpty() ? "a newer release" : writer + " or newer");
    if (m.number("backup_format") > FORMAT) {
      throw new StoreException("the backup " + m.folder() + " was written by " + writer + " in backup format "
          + m.get("backup_format") + ", this release reads up to " + FORMAT + "; " + fix);
    }
    for (DataFormat.Format f : DataFormat.FORMATS) {
      if (!m.get(f.key()).isEmpty() && m.number(f.key()) > f.version()) {
        throw new StoreException("the backup " + m.folder() + " holds data of " + writer + " (" + f.name() + " "
            + m.get(f.key()) + ", this release reads up to " + f.version() + "); " + fix);
      }
    }
    String from = m.get("readable_from");
    if (!from.isEmpty() && Release.compare(from, Release.VERSION) > 0) {
      throw new StoreException("the backup " + m.folder() + " holds data readable from Darwin Mail " + from
          + " on, this is " + Release.VERSION + "; restore it with Darwin Mail " + from + " or newer");
    }
  }

  /** What {@link #verify} found: counts, and the problems (at most {@link #MAX_PROBLEMS} kept, all counted). */
  public record Report(Manifest manifest, int files, int blobs, long messages, long queued, long unreferenced,
      List<String> problems, int problemCount) {
    public boolean ok() {
      return problemCount == 0;
    }
  }

  /**
   * Checks a backup without changing it: the MANIFEST is readable by this release; every file it lists is there with
   * its size and SHA-256, and nothing else is; every blob is there and hashes to its name; a copy of the database
   * (Derby writes to a database it boots, which would change the backup) boots, read-only connection, with the
   * schema the MANIFEST names, every message and queued message has its body among the backup's blobs, and each
   * mailbox's UIDs are below its UIDNEXT and its recorded usage is its messages' sizes.
   */
  public static Report verify(Path folder) {
    return verify(folder, new HashSet<>(), Set.of());
  }

  /**
   * {@link #verify} of a staged copy whose bodies in {@code elsewhere} are not in the folder but in the destination
   * it is uploaded to ({@link #create} with them): those are counted present when absent here.
   */
  static Report verify(Path folder, Set<String> elsewhere) {
    return verify(folder, new HashSet<>(), elsewhere);
  }

  /** {@link #verify}, adding to {@code named} every blob a row of the backup's database names. */
  private static Report verify(Path folder, Set<String> named, Set<String> elsewhere) {
    Manifest m = manifest(folder);
    checkReadable(m);
    List<String> problems = new ArrayList<>();
    int[] count = {0};
    java.util.function.Consumer<String> problem = p -> {
      if (count[0]++ < MAX_PROBLEMS) {
        problems.add(p);
      }
    };
    for (Map.Entry<String, String[]> e : m.files().entrySet()) {
      Path f = folder.resolve(e.getKey());
      try {
        if (Files.size(f) != Long.parseLong(e.getValue()[1]) || !hash(f).equals(e.getValue()[0])) {
          problem.accept(e.getKey() + ": damaged (its SHA-256 is not the one in the MANIFEST)");
        }
      } catch (NoSuchFileException x) {
        problem.accept(e.getKey() + ": missing");
      } catch (IOException x) {
        problem.accept(e.getKey() + ": " + Errors.reason(x));
      }
    }
    Map<String, String> badBlobs = new HashMap<>(); // hash -> "missing" or "damaged"
    for (String h : m.blobs()) {
      String rel = "blobs/" + h.substring(0, 2) + "/" + h;
      try {
        if (!hash(folder.resolve(rel)).equals(h)) {
          badBlobs.put(h, "damaged");
          problem.accept(rel + ": damaged (its content does not hash to its name)");
        }
      } catch (NoSuchFileException x) {
        if (elsewhere.contains(h)) {
          continue; // in the destination already
        }
        badBlobs.put(h, "missing");
        problem.accept(rel + ": missing");
      } catch (IOException x) {
        badBlobs.put(h, "damaged");
        problem.accept(rel + ": " + Errors.reason(x));
      }
    }
    try {
      for (Path f : list(folder)) {
        String rel = folder.relativize(f).toString().replace('\\', '/');
        boolean listed = m.files().containsKey(rel) || rel.equals(MANIFEST)
            || (rel.startsWith("blobs/") && m.blobs().contains(f.getFileName().toString()));
        if (!listed) {
          problem.accept(rel + ": not in the MANIFEST");
        }
      }
    } catch (IOException x) {
      problem.accept("cannot list " + folder + ": " + Errors.reason(x));
    }
    long[] rows = {0, 0, 0};
    if (!Files.isDirectory(folder.resolve("db"))) {
      problem.accept("db/: missing");
    } else {
      checkDatabase(folder, m, badBlobs, problem, rows, named);
    }
    return new Report(m, m.files().size(), m.blobs().size(), rows[0], rows[1], rows[2], List.copyOf(problems),
        count[0]);
  }

  /** Boots a temporary copy of the backup's database and checks its schema and every body it refers to. */
  private static void checkDatabase(Path folder, Manifest m, Map<String, String> badBlobs,
      java.util.function.Consumer<String> problem, long[] rows, Set<String> named) {
    Path tmp = null;
    String url = null;
    try {
      tmp = Files.createTempDirectory("darwinmail-verify-");
      copyTree(folder.resolve("db"), tmp.resolve("db"), false);
      url = "jdbc:derby:" + tmp.resolve("db").toAbsolutePath();
      try (Connection c = DriverManager.getConnection(url)) {
        c.setReadOnly(true);
        int schema = schema(c);
        if (!m.get("database_schema").isEmpty() && schema != m.number("database_schema")) {
          problem.accept("db/: schema " + schema + ", the MANIFEST says " + m.get("database_schema"));
        }
        // The same checks as on a live store (store.Verify), on a still copy: bodies against the backup's blobs.
        Verify.Scan scan = Verify.scan(new Verify.Rows() {
          @Override
          public <T> T read(Database.SqlWork<T> work) {
            try {
              return work.run(c);
            } catch (SQLException e) {
              throw new StoreException(Database.rootMessage(e), e);
            }
          }
        }, h -> !m.blobs().contains(h) ? "missing" : badBlobs.get(h), problem, false);
        rows[0] = scan.messages();
        rows[1] = scan.queued();
        // Blobs no row names are no problem here: stored after the database copy, or awaiting collection (the
        // restored server's first start removes them).
        rows[2] = m.blobs().stream().filter(h -> !scan.named().contains(h)).count();
        named.addAll(scan.named());
      }
    } catch (SQLException | StoreException e) {
      problem.accept("db/: the database does not boot: " + (e instanceof SQLException x ? Database.rootMessage(x)
          : e.getMessage()));
    } catch (IOException e) {
      problem.accept("db/: cannot copy it to boot it: " + Errors.reason(e));
    } finally {
      if (url != null) {
        try {
          DriverManager.getConnection(url + ";shutdown=true").close();
        } catch (SQLException e) {
          // 08006: shut down, as expected
        }
      }
      if (tmp != null) {
        deleteTree(tmp);
      }
    }
  }

  // ---- restoring ---------------------------------------------------------------------------------------------

  /** What {@link #restore} wrote. */
  public record Restored(Path dataDir, int files, int blobs, int linked, long messages, BlobsInto into) {}

  /**
   * Where a restore puts the bodies when they are not files in the data directory: the bucket of the restoring
   * configuration's {@code [blobs]} (its client, and the {@link BlobLocation} it records), and how many bodies were
   * uploaded there and how many it held already (filled in by {@link #restore}).
   */
  public record BlobsInto(org.darwinmail.s3.S3Client client, String location, int uploaded, int there)
      implements AutoCloseable {
    public BlobsInto(org.darwinmail.s3.S3Client client, String location) {
      this(client, location, 0, 0);
    }

    /** Closes the client (a copy made by {@link #restore} shares it). */
    @Override
    public void close() {
      client.close();
    }
  }

  /** Refuses a restore target that is neither absent nor empty ({@code lost+found} allowed), before anything. */
  static void checkEmpty(Path dataDir) {
    if (!Files.exists(dataDir)) {
      return;
    }
    try (Stream<Path> s = Files.list(dataDir)) {
      List<String> there = s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("lost+found")).toList();
      if (!there.isEmpty()) {
        throw new StoreException(dataDir + " is not empty (it holds " + String.join(", ",
            there.subList(0, Math.min(3, there.size()))) + (there.size() > 3 ? ", ..." : "")
            + "): restore into an empty data directory, or add --replace to set the data set there aside");
      }
    } catch (IOException e) {
      throw new StoreException("cannot read " + dataDir + ": " + Errors.reason(e));
    }
  }

  /**
   * Fills {@code dataDir} (absent, or an empty folder: a file system's lost+found is allowed) from a backup this
   * release reads and that {@link #verify} passes. The database is copied, never booted here: the restored
   * directory's first start migrates it when it is older, and the backup stays as it was.
   */
  public static Restored restore(Path folder, Path dataDir) {
    return restore(folder, dataDir, null);
  }

  /**
   * {@link #restore}, the bodies uploaded to {@code into}'s bucket (each one it does not hold with its size, with its
   * digests checked by the server) instead of into {@code dataDir/blobs/}, and the bucket recorded as where the
   * restored directory's bodies are ({@link BlobLocation}); null: files in the data directory.
   */
  public static Restored restore(Path folder, Path dataDir, BlobsInto into) {
    Manifest m = manifest(folder);
    checkReadable(m);
    checkEmpty(dataDir);
    Set<String> named = new HashSet<>();
    Report r = verify(folder, named, Set.of());
    if (!r.ok()) {
      throw new StoreException("the backup " + folder + " is damaged (" + r.problemCount() + " problem(s), the first: "
          + r.problems().getFirst() + "); nothing restored");
    }
    int linked = 0;
    int blobs = 0;
    try {
      Files.createDirectories(dataDir);
      for (String rel : m.files().keySet()) {
        if (rel.equals(DataFormat.FILE)) {
          continue; // last, below
        }
        Path target = dataDir.resolve(rel);
        Files.createDirectories(target.getParent());
        Files.copy(folder.resolve(rel), target, StandardCopyOption.COPY_ATTRIBUTES);
      }
      // The blobs the database names: not those stored after its copy, nor those awaiting collection (the
      // restored store has no orphan for `darwinmail verify` to find); all of them when the backup holds an intake
      // journal (the one before a migration), whose messages have no rows yet.
      boolean journal = m.files().keySet().stream().anyMatch(f -> f.startsWith(DataDir.INTAKE + "/"));
      List<String> wanted = m.blobs().stream().filter(h -> journal || named.contains(h)).toList();
      if (into != null) {
        java.util.concurrent.atomic.AtomicInteger uploaded = new java.util.concurrent.atomic.AtomicInteger();
        org.darwinmail.s3.S3Client client = into.client();
        BucketBackup.parallel(wanted, h -> {
          if (upload(client, h, folder.resolve("blobs").resolve(h.substring(0, 2)).resolve(h))) {
            uploaded.incrementAndGet();
          }
        });
        BlobLocation.record(dataDir.resolve("blobs"), into.location());
        into = new BlobsInto(into.client(), into.location(), uploaded.get(), wanted.size() - uploaded.get());
        blobs = wanted.size();
      }
      for (String h : into != null ? List.<String>of() : wanted) {
        blobs++;
        Path target = dataDir.resolve("blobs").resolve(h.substring(0, 2)).resolve(h);
        Files.createDirectories(target.getParent());
        if (link(folder.resolve("blobs").resolve(h.substring(0, 2)).resolve(h), target)) {
          linked++; // blobs are never changed in place but to their own content (BlobStore): safe to share
        } else {
          Files.copy(folder.resolve("blobs").resolve(h.substring(0, 2)).resolve(h), target);
        }
      }
      // The copy checked against the MANIFEST (the backup was verified; this catches a copy gone wrong).
      for (Map.Entry<String, String[]> e : m.files().entrySet()) {
        Path f = dataDir.resolve(e.getKey());
        if (!e.getKey().equals(DataFormat.FILE) && !hash(f).equals(e.getValue()[0])) { // FORMAT: copied last
          throw new IOException(f + " does not match the backup's MANIFEST after the copy");
        }
      }
      for (String h : into != null ? List.<String>of() : wanted) {
        if (!Files.isRegularFile(dataDir.resolve("blobs").resolve(h.substring(0, 2)).resolve(h))) {
          throw new IOException("blob " + h + " missing after the copy");
        }
      }
      syncFileSystem(dataDir);
      if (m.files().containsKey(DataFormat.FILE)) {
        Files.copy(folder.resolve(DataFormat.FILE), dataDir.resolve(DataFormat.FILE),
            StandardCopyOption.COPY_ATTRIBUTES);
        BlobStore.force(dataDir.resolve(DataFormat.FILE));
      }
      BlobStore.force(dataDir);
    } catch (IOException e) {
      throw new StoreException("cannot restore into " + dataDir + ": " + Errors.reason(e)
          + " (empty it before trying again)");
    }
    return new Restored(dataDir, m.files().size(), blobs, linked, r.messages(), into);
  }

  /**
   * Puts a body into the restore's bucket under its hash (as {@link S3Blobs} keys it) unless an object of its size is
   * there: false then. The server checks the upload against its SHA-256 (the name) and MD5.
   */
  private static boolean upload(org.darwinmail.s3.S3Client c, String hash, Path file) throws IOException {
    long size = Files.size(file);
    org.darwinmail.s3.S3Client.Head h = c.head(hash);
    if (h != null && h.size() == size) {
      return false;
    }
    MessageDigest md5;
    try {
      md5 = MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), md5)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    c.put(hash, file, HEX.parseHex(hash), md5.digest(), size);
    return true;
  }

  /** One backup found by {@link #list}: its folder and MANIFEST head (empty for a database-only backup). */
  public record Listed(Path folder, Map<String, String> head) {}

  /**
   * The backups in {@code dir}, oldest first: folders with a MANIFEST, and database-only ones (0.2.0's automatic
   * backups).
   */
  public static List<Listed> listBackups(Path dir) {
    List<Listed> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.sorted().toList()) {
        if (Files.isRegularFile(p.resolve(MANIFEST))) {
          Map<String, String> head = new HashMap<>();
          try {
            head = manifest(p).head();
          } catch (StoreException e) {
            head.put("error", e.getMessage());
          }
          out.add(new Listed(p, head));
        } else if (Files.isRegularFile(p.resolve("db").resolve("service.properties"))) {
          out.add(new Listed(p, Map.of()));
        }
      }
    } catch (IOException e) {
      throw new StoreException("cannot read " + dir + ": " + Errors.reason(e));
    }
    return out;
  }

  // ---- files ---------------------------------------------------------------------------------------------------

  static boolean isHash(String s) {
    return s.length() == 64 && s.chars().allMatch(ch -> (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
  }

  /** Every regular file under {@code root}, sorted. */
  private static List<Path> list(Path root) throws IOException {
    if (Files.isRegularFile(root)) {
      return List.of(root);
    }
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String hash(Path f) throws IOException {
    MessageDigest d = sha256();
    try (InputStream in = Files.newInputStream(f)) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) > 0; ) {
        d.update(buf, 0, n);
      }
    }
    return HEX.formatHex(d.digest());
  }

  private static void copyTree(Path from, Path to, boolean force) throws IOException {
    for (Path f : list(from)) {
      Path t = to.resolve(from.relativize(f).toString());
      Files.createDirectories(t.getParent());
      Files.copy(f, t, StandardCopyOption.COPY_ATTRIBUTES);
      if (force) {
        BlobStore.force(t);
      }
    }
  }

  static void deleteTree(Path root) {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", root, Errors.reason(e));
    }
  }
}
