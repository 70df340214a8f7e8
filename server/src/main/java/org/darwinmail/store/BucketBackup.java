package org.darwinmail.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.darwinmail.errors.Errors;
import org.darwinmail.s3.S3Client;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backups in an S3-compatible bucket (ARCHITECTURE.md, "Backups"; issue 18): the same backup as {@link Backup}'s
 * folder, staged in {@code <data_dir>/backup/.bucket/} ({@link Backup#online}: blobs hard-linked there, the database
 * copied) and uploaded under {@code s3://BUCKET/PREFIX}:
 *
 * <pre>
 * PREFIX/backups/NAME/db/...        the files of the MANIFEST, under the backup's own prefix
 * PREFIX/backups/NAME/MANIFEST      the same MANIFEST as a folder's, uploaded last: a backup without it is incomplete
 * PREFIX/blobs/ab/&lt;sha-256&gt;        every body, by content, shared by all the backups of PREFIX
 * </pre>
 *
 * A body already in the bucket with its size (one ListObjectsV2 page per 1,000 bodies, not a HEAD each) is not
 * uploaded again. Every PUT carries its content's SHA-256 (SigV4's payload hash, which the server checks), computed
 * while the file is read and compared with the MANIFEST's (a file) or the name (a body): what is stored is what
 * the MANIFEST says. Files are streamed from disk; one above {@link #MULTIPART_ABOVE} (the database's files, a large
 * body) goes in parts of {@link #PART} ({@link S3Client#putMultipart}: each part with its own digests, the whole
 * file's SHA-256 compared with the MANIFEST's before the upload is completed, aborted on any failure), so a file may
 * be larger than S3's 5 GB single PUT and a failed request sends one part again, not the file. Uploads in parts a
 * killed process left under the prefix are aborted at the next upload.
 *
 * <p>Reading ({@link #verify}, {@link #restore}) downloads the backup into a staging folder, hashing each object as
 * it is written, then runs {@link Backup#verify} / {@link Backup#restore} on it (the folder's checks, the database
 * booted from a copy). {@link #retain} deletes the scheduled backups retention does not keep (MANIFEST first),
 * incomplete ones, then the bodies no remaining MANIFEST names. A PREFIX belongs to one data directory; one bucket
 * backup at a time in a process ({@link #ONE}).
 */
public final class BucketBackup {
  private static final Logger log = LoggerFactory.getLogger(BucketBackup.class);
  /** S3's largest single PUT. */
  public static final long MAX_OBJECT = 5L << 30;
  /** Files larger than this are uploaded in parts. */
  public static final long MULTIPART_ABOVE = 64L << 20;
  /** The size of a part (larger when a file would need more than 10,000). */
  public static final long PART = 16L << 20;
  /** {@link #MULTIPART_ABOVE} and {@link #PART}, lowered by tests (S3's smallest part is 5 MiB). */
  static volatile long multipartAbove = MULTIPART_ABOVE;
  static volatile long partSize = PART;
  /** Called after each part is stored; a test's hook (throwing fails the upload), null otherwise. */
  static volatile S3Client.PartDone afterPart;
  /** Uploads and downloads in flight at once. */
  static final int PARALLEL = 8;
  /** The folder under {@code <data_dir>/backup} where a bucket backup is staged. */
  public static final String STAGING = ".bucket";
  /** Longest MANIFEST head line read by {@link #list}. */
  private static final int MAX_HEAD_LINE = 4096;
  private static final HexFormat HEX = HexFormat.of();
  private static final ReentrantLock ONE = new ReentrantLock();

  private BucketBackup() {}

  /** A bucket destination: where the bucket is, and the prefix ({@code ""}: the bucket's root) its keys go under. */
  public record Target(S3Client.Settings s3, String prefix) {
    /** {@code s3://BUCKET[/PREFIX]}. */
    public String location() {
      return "s3://" + s3.bucket() + (prefix.isEmpty() ? "" : "/" + prefix);
    }

    /** {@code s3://BUCKET[/PREFIX]/NAME}: one backup, as commands take and print it. */
    public String location(String name) {
      return location() + "/" + name;
    }

    String key(String rest) {
      return prefix.isEmpty() ? rest : prefix + "/" + rest;
    }

    String backupKey(String name, String rel) {
      return key("backups/" + name + "/" + rel);
    }

    String blobKey(String hash) {
      return key("blobs/" + hash.substring(0, 2) + "/" + hash);
    }
  }

  /**
   * What {@link #online} did: the backup's name and location, the files and bodies its MANIFEST lists, how many bodies
   * were uploaded (the others were in the bucket already), the bytes it holds and those uploaded, its messages,
   * and the older backups {@link #retain} deleted (0 when not asked).
   */
  public record Uploaded(String name, String location, int files, int blobs, int uploadedBlobs, long bytes,
      long uploadedBytes, long messages, int deleted) {}

  /**
   * An online backup ({@link Backup#online}) staged in {@code <data_dir>/backup/.bucket/}, checked by
   * {@link Backup#verify} first when {@code verify}, uploaded to {@code t}, the staged copy then removed; with
   * {@code keep} > 0, {@link #retain} afterwards (the scheduled backups), in the same turn of the process-wide lock.
   */
  public static Uploaded online(SqlRunner db, MailStore mail, BlobStore blobs, Path dataDir, Target t,
      String namePrefix, boolean verify, int keep, int keepDays) {
    ONE.lock();
    Path staging = DataDir.of(dataDir).backup().resolve(STAGING);
    try (S3Client c = new S3Client(t.s3())) {
      if (Files.exists(staging)) {
        Backup.deleteTree(staging); // a staged copy a killed process left
      }
      long t0 = System.nanoTime();
      // Bodies in a bucket: those the destination holds already are not downloaded into the staging folder only to
      // be found there by the upload (one listing of PREFIX/blobs/ instead of a GET each).
      Map<String, Long> there = blobs.backend() instanceof S3Blobs ? blobsInBucket(c, t) : Map.of();
      Backup.Created b = Backup.online(db, mail, blobs, dataDir, staging, namePrefix, there);
      long t1 = System.nanoTime();
      if (verify) {
        Backup.Report r = Backup.verify(b.path(), there.keySet());
        if (!r.ok()) {
          throw new StoreException("the new backup does not verify: " + r.problems().getFirst()
              + (r.problemCount() > 1 ? " (and " + (r.problemCount() - 1) + " more)" : "") + "; nothing uploaded");
        }
      }
      long t2 = System.nanoTime();
      Uploaded u = upload(c, t, b.path(), b.messages());
      log.info("{}: staged in {} ms, verified in {} ms, uploaded in {} ms", u.location(), (t1 - t0) / 1_000_000,
          (t2 - t1) / 1_000_000, (System.nanoTime() - t2) / 1_000_000);
      if (keep > 0) {
        int deleted = retain(c, t, namePrefix, keep, keepDays, u.name(), Instant.now());
        u = new Uploaded(u.name(), u.location(), u.files(), u.blobs(), u.uploadedBlobs(), u.bytes(),
            u.uploadedBytes(), u.messages(), deleted);
      }
      return u;
    } catch (IOException e) {
      throw new StoreException("cannot back up into " + t.location() + ": " + Errors.reason(e), e);
    } finally {
      Backup.deleteTree(staging);
      ONE.unlock();
    }
  }

  /**
   * Uploads the complete backup folder {@code folder} (its MANIFEST read, every file and body checked against it
   * while read) as a new backup of {@code t}, named as the folder (with {@code -2}, {@code -3}... when the bucket
   * holds that name already), the MANIFEST last.
   */
  static Uploaded upload(S3Client c, Target t, Path folder, long messages) throws IOException {
    Backup.Manifest m = Backup.manifest(folder);
    String base = folder.getFileName().toString();
    String name = base;
    for (int i = 2; !c.list(t.key("backups/" + name + "/"), null).entries().isEmpty(); i++) {
      name = base + "-" + i;
    }
    abortLeftovers(c, t);
    Map<String, Long> there = blobsInBucket(c, t);
    List<Item> items = new ArrayList<>();
    for (Map.Entry<String, String[]> e : m.files().entrySet()) {
      items.add(new Item(folder.resolve(e.getKey()), t.backupKey(name, e.getKey()), e.getValue()[0],
          e.getKey()));
    }
    long bytes = 0;
    for (String h : m.blobs()) {
      Path f = folder.resolve("blobs").resolve(h.substring(0, 2)).resolve(h);
      if (!Files.exists(f)) { // not staged: the destination held it when the backup began ({@link #online})
        if (there.get(h) == null) {
          throw new IOException("blobs/" + h.substring(0, 2) + "/" + h + " is neither staged nor in "
              + t.location() + " any more; nothing more uploaded");
        }
        bytes += there.get(h);
        continue;
      }
      long size = Files.size(f);
      bytes += size;
      if (!Long.valueOf(size).equals(there.get(h))) { // absent, or not whole: uploaded (again)
        items.add(new Item(f, t.blobKey(h), h, "blobs/" + h.substring(0, 2) + "/" + h));
      }
    }
    for (String[] v : m.files().values()) {
      bytes += Long.parseLong(v[1]);
    }
    AtomicLong sent = new AtomicLong();
    int uploadedBlobs = (int) items.stream().filter(i -> i.rel().startsWith("blobs/")).count();
    parallel(items, i -> sent.addAndGet(put(c, i)));
    // Last: once the MANIFEST is there, every object it names is.
    Path manifest = folder.resolve(Backup.MANIFEST);
    sent.addAndGet(put(c, new Item(manifest, t.backupKey(name, Backup.MANIFEST), null, Backup.MANIFEST)));
    log.info("backup {}: {} files, {} bodies ({} uploaded, {} in the bucket already), {} bytes uploaded",
        t.location(name), m.files().size(), m.blobs().size(), uploadedBlobs, m.blobs().size() - uploadedBlobs,
        sent.get());
    return new Uploaded(name, t.location(name), m.files().size(), m.blobs().size(), uploadedBlobs, bytes, sent.get(),
        messages, 0);
  }

  /** One object to upload or download: the local file, its key, its SHA-256 (null: not known beforehand). */
  private record Item(Path file, String key, String sha256, String rel) {}

  private static long put(S3Client c, Item i) throws IOException {
    long size = Files.size(i.file());
    if (size > multipartAbove || size > MAX_OBJECT) {
      long part = Math.max(partSize, ((size / S3Client.MAX_PARTS >> 20) + 1) << 20);
      try {
        c.putMultipart(i.key(), i.file(), size, part, i.sha256() == null ? null : HEX.parseHex(i.sha256()),
            afterPart);
      } catch (IOException e) {
        throw new IOException(i.rel() + " (" + size + " bytes, in parts): " + Errors.reason(e)
            + "; the upload was aborted, nothing more uploaded", e);
      }
      return size;
    }
    MessageDigest sha = digest("SHA-256");
    MessageDigest md5 = digest("MD5");
    try (InputStream in = Files.newInputStream(i.file())) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) > 0; ) {
        sha.update(buf, 0, n);
        md5.update(buf, 0, n);
      }
    }
    byte[] hash = sha.digest();
    if (i.sha256() != null && !HEX.formatHex(hash).equals(i.sha256())) {
      throw new IOException(i.rel() + " does not hash to what the MANIFEST says (damaged, or changed while"
          + " backed up); nothing more uploaded");
    }
    c.put(i.key(), i.file(), hash, md5.digest(), size); // the server checks the body against the signed hash
    return size;
  }

  /**
   * Aborts the uploads in parts under {@code PREFIX/backups/} and {@code PREFIX/blobs/}: a process killed during a
   * backup leaves its parts stored (and billed) but invisible to a listing of objects. A prefix belongs to one data
   * directory and its backups are made one at a time ({@link #ONE}), so none is in progress.
   */
  private static void abortLeftovers(S3Client c, Target t) throws IOException {
    for (String under : List.of(t.key("backups/"), t.key("blobs/"))) {
      for (S3Client.Upload u : c.listMultipartUploads(under)) {
        log.info("{}: aborting an upload in parts of {} a previous backup left", t.location(), u.key());
        c.abortMultipartUpload(u.key(), u.uploadId());
      }
    }
  }

  /** The bodies in the bucket and their sizes (every page of {@code PREFIX/blobs/}). */
  private static Map<String, Long> blobsInBucket(S3Client c, Target t) throws IOException {
    Map<String, Long> out = new HashMap<>();
    String root = t.key("blobs/");
    for (S3Client.Entry e : listAll(c, root)) {
      String h = e.key().substring(e.key().lastIndexOf('/') + 1);
      if (Backup.isHash(h) && e.key().equals(t.blobKey(h))) {
        out.put(h, e.size());
      }
    }
    return out;
  }

  private static List<S3Client.Entry> listAll(S3Client c, String prefix) throws IOException {
    List<S3Client.Entry> out = new ArrayList<>();
    String token = null;
    do {
      S3Client.Listing l = c.list(prefix, token);
      out.addAll(l.entries());
      token = l.next();
    } while (token != null);
    return out;
  }

  @FunctionalInterface
  interface Work<T> {
    void run(T item) throws IOException;
  }

  /** Runs {@code work} on every item, {@link #PARALLEL} at a time; the first failure stops the rest and is thrown. */
  static <T> void parallel(List<T> items, Work<T> work) throws IOException {
    try (ExecutorService ex = Executors.newFixedThreadPool(PARALLEL, Thread.ofVirtual().name("bucket-backup-", 0)
        .factory())) {
      List<Future<?>> fs = new ArrayList<>(items.size());
      for (T i : items) {
        fs.add(ex.submit(() -> {
          work.run(i);
          return null;
        }));
      }
      for (Future<?> f : fs) {
        try {
          f.get();
        } catch (ExecutionException e) {
          fs.forEach(x -> x.cancel(true));
          if (e.getCause() instanceof IOException io) {
            throw io;
          }
          if (e.getCause() instanceof RuntimeException re) {
            throw re;
          }
          throw new IOException(e.getCause());
        } catch (InterruptedException e) {
          fs.forEach(x -> x.cancel(true));
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted");
        }
      }
    }
  }

  // ---- the backups in a bucket -----------------------------------------------------------------------------------

  /** One complete backup in a bucket: its name, location and MANIFEST head. */
  public record Listed(String name, String location, Map<String, String> head) {}

  /** The complete backups of {@code t} (with a MANIFEST), by name; incomplete ones are not listed. */
  public static List<Listed> list(Target t) {
    try (S3Client c = new S3Client(t.s3())) {
      List<Listed> out = new ArrayList<>();
      for (Map.Entry<String, Boolean> e : backups(c, t).entrySet()) {
        if (e.getValue()) {
          out.add(new Listed(e.getKey(), t.location(e.getKey()), head(c, t, e.getKey())));
        }
      }
      return out;
    } catch (IOException e) {
      throw new StoreException("cannot list the backups in " + t.location() + ": " + Errors.reason(e), e);
    }
  }

  /** The backups' names under {@code PREFIX/backups/}, sorted, each with whether it is complete (has a MANIFEST). */
  private static TreeMap<String, Boolean> backups(S3Client c, Target t) throws IOException {
    TreeMap<String, Boolean> out = new TreeMap<>();
    String root = t.key("backups/");
    for (S3Client.Entry e : listAll(c, root)) {
      String rest = e.key().substring(root.length());
      int slash = rest.indexOf('/');
      if (slash <= 0) {
        continue;
      }
      String name = rest.substring(0, slash);
      out.merge(name, rest.substring(slash + 1).equals(Backup.MANIFEST), Boolean::logicalOr);
    }
    return out;
  }

  /** A MANIFEST's head (the lines before the first file), read from the start of its object only. */
  private static Map<String, String> head(S3Client c, Target t, String name) throws IOException {
    Map<String, String> head = new LinkedHashMap<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(c.get(t.backupKey(name, Backup.MANIFEST)),
        StandardCharsets.UTF_8))) {
      StringBuilder line = new StringBuilder();
      for (int lines = 0; lines < 100; lines++) {
        line.setLength(0);
        int ch;
        while ((ch = r.read()) != -1 && ch != '\n') {
          if (line.length() >= MAX_HEAD_LINE) {
            head.put("error", "a MANIFEST line is longer than " + MAX_HEAD_LINE + " characters");
            return head;
          }
          line.append((char) ch);
        }
        String l = line.toString();
        if (l.startsWith("file=") || l.startsWith("blob=") || (ch == -1 && l.isEmpty())) {
          break;
        }
        int eq = l.indexOf('=');
        if (!l.startsWith("#") && eq > 0) {
          head.put(l.substring(0, eq), l.substring(eq + 1));
        }
      }
    } catch (NoSuchFileException e) {
      head.put("error", "its MANIFEST is gone");
    }
    return head;
  }

  // ---- reading a backup ------------------------------------------------------------------------------------------

  /**
   * Downloads backup {@code name} of {@code t} into {@code staging} (an empty folder): its MANIFEST, checked readable by
   * this release ({@link Backup#checkReadable}) before anything else, then every file and body it lists, each hashed
   * while written. {@code strict}: the first object missing or not hashing to the MANIFEST's SHA-256 stops it with
   * one line; else such objects are left out or kept as they are, for {@link Backup#verify} to report.
   */
  private static Backup.Manifest download(S3Client c, Target t, String name, Path staging, boolean strict)
      throws IOException {
    Path manifest = staging.resolve(Backup.MANIFEST);
    try (InputStream in = c.get(t.backupKey(name, Backup.MANIFEST))) {
      Files.copy(in, manifest);
    } catch (NoSuchFileException e) {
      throw new StoreException(t.location(name) + " is not a backup (no " + Backup.MANIFEST + ": "
          + (backups(c, t).containsKey(name) ? "incomplete, never restorable" : "no such backup") + ")");
    }
    Backup.Manifest m = Backup.manifest(staging);
    Backup.checkReadable(m);
    List<Item> items = new ArrayList<>();
    for (Map.Entry<String, String[]> e : m.files().entrySet()) {
      items.add(new Item(staging.resolve(e.getKey()), t.backupKey(name, e.getKey()), e.getValue()[0], e.getKey()));
    }
    for (String h : m.blobs()) {
      String rel = "blobs/" + h.substring(0, 2) + "/" + h;
      items.add(new Item(staging.resolve(rel), t.blobKey(h), h, rel));
    }
    parallel(items, i -> get(c, t, name, i, strict));
    return m;
  }

  private static void get(S3Client c, Target t, String name, Item i, boolean strict) throws IOException {
    Files.createDirectories(i.file().getParent());
    MessageDigest sha = digest("SHA-256");
    try (InputStream in = c.get(i.key()); OutputStream out = Files.newOutputStream(i.file())) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) > 0; ) {
        sha.update(buf, 0, n);
        out.write(buf, 0, n);
      }
    } catch (NoSuchFileException e) {
      Files.deleteIfExists(i.file());
      if (strict) {
        throw new StoreException(t.location(name) + ": " + i.rel() + " is missing from the bucket; nothing restored");
      }
      return;
    }
    if (strict && !HEX.formatHex(sha.digest()).equals(i.sha256())) {
      throw new StoreException(t.location(name) + ": " + i.rel() + " is damaged in the bucket (its SHA-256 is not"
          + " the one in the MANIFEST); nothing restored");
    }
  }

  /**
   * {@link Backup#verify} on backup {@code name} of {@code t}, downloaded into a folder made under
   * {@code stagingParent} (removed after): every file and body against the MANIFEST, the database booted from a copy.
   */
  public static Backup.Report verify(Target t, String name, Path stagingParent) {
    Path root = null;
    Path staging = null;
    try (S3Client c = new S3Client(t.s3())) {
      Files.createDirectories(stagingParent);
      root = Files.createTempDirectory(stagingParent, ".bucket-verify-");
      // One level down: a folder with a MANIFEST right under <data_dir>/backup would be listed as a backup there.
      staging = Files.createDirectory(root.resolve(name));
      download(c, t, name, staging, false);
      return Backup.verify(staging);
    } catch (IOException e) {
      throw new StoreException("cannot read " + t.location(name) + ": " + Errors.reason(e), e);
    } catch (StoreException e) {
      throw renamed(e, staging, t.location(name));
    } finally {
      if (root != null) {
        Backup.deleteTree(root);
      }
    }
  }

  /**
   * {@link Backup#restore} of backup {@code name} of {@code t} into {@code dataDir} (absent or empty): the MANIFEST
   * read and the backup refused when this release cannot read it, every object downloaded next to {@code dataDir}
   * (the bodies are then hard-linked into it) and checked against the MANIFEST (the first missing or damaged one
   * stops the restore, nothing restored), then the folder's restore (verify, copy).
   */
  public static Backup.Restored restore(Target t, String name, Path dataDir) {
    return restore(t, name, dataDir, null);
  }

  /** {@link #restore}, the bodies uploaded to {@code into} ({@link Backup#restore(Path, Path, Backup.BlobsInto)}). */
  public static Backup.Restored restore(Target t, String name, Path dataDir, Backup.BlobsInto into) {
    Path target = dataDir.toAbsolutePath();
    Backup.checkEmpty(target);
    Path staging = null;
    try (S3Client c = new S3Client(t.s3())) {
      Files.createDirectories(target.getParent());
      staging = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".restore-");
      download(c, t, name, staging, true);
      return Backup.restore(staging, target, into);
    } catch (IOException e) {
      throw new StoreException("cannot restore " + t.location(name) + ": " + Errors.reason(e)
          + "; nothing restored", e);
    } catch (StoreException e) {
      throw renamed(e, staging, t.location(name));
    } finally {
      if (staging != null) {
        Backup.deleteTree(staging);
      }
    }
  }

  /** The folder's messages name the staging folder: they name the backup in the bucket instead. */
  private static StoreException renamed(StoreException e, Path staging, String location) {
    if (staging == null || e.getMessage() == null || !e.getMessage().contains(staging.toString())) {
      return e;
    }
    return new StoreException(e.getMessage().replace(staging.toString(), location), e);
  }

  // ---- retention -------------------------------------------------------------------------------------------------

  /**
   * Deletes from {@code t} the backups named {@code namePrefix-*} that retention does not keep (all but the newest
   * {@code keep} by their MANIFEST's {@code created}, unless younger than {@code keepDays}; never {@code newest}),
   * each MANIFEST first (a backup half deleted is incomplete, never listed), every incomplete backup but
   * {@code newest} (an upload a killed process left), then every body no remaining MANIFEST names. Returns how many
   * complete backups were deleted.
   */
  public static int retain(Target t, String namePrefix, int keep, int keepDays, String newest, Instant now) {
    ONE.lock();
    try (S3Client c = new S3Client(t.s3())) {
      return retain(c, t, namePrefix, keep, keepDays, newest, now);
    } catch (IOException e) {
      throw new StoreException("cannot apply retention in " + t.location() + ": " + Errors.reason(e), e);
    } finally {
      ONE.unlock();
    }
  }

  private static int retain(S3Client c, Target t, String namePrefix, int keep, int keepDays, String newest,
      Instant now) throws IOException {
    TreeMap<String, Boolean> all = backups(c, t);
    Map<String, Instant> ours = new HashMap<>();
    List<String> doomed = new ArrayList<>();
    for (Map.Entry<String, Boolean> e : all.entrySet()) {
      if (!e.getValue()) {
        if (!e.getKey().equals(newest)) {
          doomed.add(e.getKey());
        }
      } else if (e.getKey().startsWith(namePrefix + "-")) {
        Instant created;
        try {
          created = Instant.parse(head(c, t, e.getKey()).getOrDefault("created", ""));
        } catch (RuntimeException x) {
          created = Instant.EPOCH; // no readable time: its age does not keep it
        }
        ours.put(e.getKey(), created);
      }
    }
    List<String> sorted = new ArrayList<>(ours.keySet());
    sorted.sort(Comparator.comparing((String n) -> ours.get(n)).thenComparing(n -> n));
    Instant cutoff = now.minus(Duration.ofDays(keepDays));
    int deleted = 0;
    for (int i = 0; i < sorted.size() - keep; i++) {
      String n = sorted.get(i);
      if (n.equals(newest) || (keepDays > 0 && ours.get(n).isAfter(cutoff))) {
        continue;
      }
      log.info("scheduled backups: deleting {} (retention: keep {}{})", t.location(n), keep,
          keepDays > 0 ? ", and " + keepDays + " days" : "");
      c.delete(t.backupKey(n, Backup.MANIFEST));
      doomed.add(n);
      deleted++;
    }
    for (String n : doomed) {
      for (S3Client.Entry e : listAll(c, t.key("backups/" + n + "/"))) {
        c.delete(e.key());
      }
    }
    // The bodies the remaining complete backups name; any other under blobs/ goes.
    Set<String> named = new HashSet<>();
    Path tmp = Files.createTempDirectory("darwinmail-bucket-manifest-");
    try {
      for (Map.Entry<String, Boolean> e : backups(c, t).entrySet()) {
        if (!e.getValue()) {
          continue;
        }
        Path f = tmp.resolve(Backup.MANIFEST);
        Files.deleteIfExists(f);
        try (InputStream in = c.get(t.backupKey(e.getKey(), Backup.MANIFEST))) {
          Files.copy(in, f);
        }
        named.addAll(Backup.manifest(tmp).blobs());
      }
    } finally {
      Backup.deleteTree(tmp);
    }
    List<String> orphans = new ArrayList<>();
    for (String h : blobsInBucket(c, t).keySet()) {
      if (!named.contains(h)) {
        orphans.add(t.blobKey(h));
      }
    }
    parallel(orphans, c::delete);
    if (!doomed.isEmpty() || !orphans.isEmpty()) {
      log.info("{}: {} backup(s) deleted ({} incomplete), {} bodies no kept backup names deleted", t.location(),
          doomed.size(), doomed.size() - deleted, orphans.size());
    }
    return deleted;
  }

  private static MessageDigest digest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
