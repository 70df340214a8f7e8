package org.darwinmail.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.darwinmail.errors.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Scheduled backups ({@code [backup]}; ARCHITECTURE.md, "Backups"; issue 18): a virtual thread that makes an online
 * backup ({@link Backup#online}, the same as {@code darwinmail backup create}) at each scheduled instant into
 * {@code <folder>/scheduled-<yyyyMMdd-HHmmss>/}, verifies it ({@link Backup#verify}), and only then deletes the
 * scheduled backups that retention no longer keeps (the newest {@code keep}, and any younger than
 * {@code keep_days}). One backup at a time; a failure (a destination that is not writable, a full disk, a backup
 * that does not verify) is logged and recorded, and the next scheduled instant tries again.
 * With {@code folder = "s3://BUCKET/PREFIX"} the backups go to the bucket instead ({@link BucketBackup#online}: the
 * staged copy verified before its upload, retention in the bucket after it). The last run's
 * outcome ({@link Status}: when, ok or the error, size, the next run) is kept in {@code <data_dir>/backup/
 * last-scheduled.json}, read back at start, so its age survives a restart; {@link #status()} is what the control
 * socket's {@code backup status} and the admin console show.
 */
public final class BackupScheduler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BackupScheduler.class);
  /** The folder-name prefix of scheduled backups: retention deletes those alone, never a backup made by hand. */
  public static final String PREFIX = "scheduled";
  public static final String STATUS_FILE = "last-scheduled.json";
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final long MAX_STATUS_BYTES = 64 * 1024;

  /**
   * What {@code [backup]} says (config.BackupConfig.plan: this package does not read the configuration): the
   * schedule as written, its interval or its time of day (UTC; neither: off), the folder, the retention, and the
   * bucket the backups go to instead of the folder ({@link BucketBackup}; null: the folder).
   */
  public record Plan(String schedule, Duration every, LocalTime daily, Path folder, int keep, int keepDays,
      BucketBackup.Target bucket) {
    /** Into a folder. */
    public Plan(String schedule, Duration every, LocalTime daily, Path folder, int keep, int keepDays) {
      this(schedule, every, daily, folder, keep, keepDays, null);
    }

    public boolean enabled() {
      return every != null || daily != null;
    }

    /** Where the backups go, as the user reads it: the folder, or {@code s3://BUCKET/PREFIX}. */
    public String destination() {
      return bucket == null ? folder.toString() : bucket.location();
    }
  }

  /** How one backup is made (the store's {@link Backup#online}); a seam for nothing but the wiring. */
  @FunctionalInterface
  public interface Maker {
    Backup.Created make(Path dest, String prefix);
  }

  /**
   * How one backup to a bucket is made, verified before its upload, and retention applied after it
   * ({@link BucketBackup#online}).
   */
  @FunctionalInterface
  public interface BucketMaker {
    BucketBackup.Uploaded make(BucketBackup.Target bucket, String prefix, int keep, int keepDays);
  }

  /**
   * The last scheduled backup's outcome. {@code ok}: made and verified; else {@code error} says why. {@code backup}:
   * its folder (empty when none was made), {@code bytes} its size (blobs linked from an earlier backup included),
   * {@code deleted}: older scheduled backups retention removed after it.
   */
  public record Status(Instant started, Instant finished, boolean ok, String error, String backup, long messages,
      int blobs, long bytes, int deleted, Instant next) {
    /** For the admin console: these fields, the times as ISO-8601 (UTC), and {@code age_seconds} of the last run. */
    public Map<String, Object> toMap(Instant now) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("started", started == null ? null : started.toString());
      m.put("finished", finished == null ? null : finished.toString());
      m.put("age_seconds", finished == null ? null : Duration.between(finished, now).toSeconds());
      m.put("ok", ok);
      m.put("error", error);
      m.put("backup", backup);
      m.put("messages", messages);
      m.put("blobs", blobs);
      m.put("bytes", bytes);
      m.put("deleted", deleted);
      m.put("next", next == null ? null : next.toString());
      return m;
    }

    public String toJson(Instant now) {
      return JSON.writeValueAsString(toMap(now));
    }
  }

  private final Plan config;
  private final Path dataDir;
  private final Path folder;
  private final Maker maker;
  private final BucketMaker bucketMaker;
  private final Clock clock;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition wake = lock.newCondition();
  private boolean closed;
  private volatile Status last;
  private volatile Instant next;
  private Thread thread;

  BackupScheduler(Plan config, Path dataDir, Maker maker, Clock clock) {
    this(config, dataDir, maker, null, clock);
  }

  BackupScheduler(Plan config, Path dataDir, Maker maker, BucketMaker bucketMaker, Clock clock) {
    this.config = config;
    this.dataDir = dataDir;
    this.folder = config.folder();
    this.maker = maker;
    this.bucketMaker = bucketMaker;
    this.clock = clock;
    this.last = read(dataDir);
  }

  /** Starts the schedule of {@code config} (nothing runs while it is off; {@link #status} still reads the file). */
  public static BackupScheduler start(Plan config, Path dataDir, SqlRunner db, MailStore mail,
      BlobStore blobs) {
    if (config.enabled()) {
      Database.derby(db, "[backup] schedule: " + PostgresDatabase.NO_BACKUP); // a start refused in one line
    }
    return start(config, dataDir, (dest, prefix) -> Backup.online(db, mail, blobs, dataDir, dest, prefix),
        (bucket, prefix, keep, keepDays) -> BucketBackup.online(db, mail, blobs, dataDir, bucket, prefix, true, keep,
            keepDays));
  }

  static BackupScheduler start(Plan config, Path dataDir, Maker maker) {
    return start(config, dataDir, maker, null);
  }

  static BackupScheduler start(Plan config, Path dataDir, Maker maker, BucketMaker bucketMaker) {
    BackupScheduler s = new BackupScheduler(config, dataDir, maker, bucketMaker, Clock.systemUTC());
    if (config.enabled()) {
      s.next = s.first(s.clock.instant());
      s.thread = Thread.ofVirtual().name("backup-scheduler").start(s::loop);
      log.info("scheduled backups {} into {}, keeping {}{}; the next at {}", config.schedule(), config.destination(),
          config.keep(), config.keepDays() > 0 ? " and those younger than " + config.keepDays() + " days" : "",
          s.next);
    }
    return s;
  }

  /**
   * The first instant after a start at {@code now}: the one after the last scheduled backup (the status file), or,
   * when that one passed while the server was stopped, a minute from now (an interval under a minute: one interval),
   * so that a server restarted more often than its interval still backs up; without a status file, the next instant.
   */
  Instant first(Instant now) {
    Status l = last;
    if (l == null || l.started() == null) {
      return after(now);
    }
    Instant due = after(l.started());
    if (due.isAfter(now)) {
      return due;
    }
    Duration every = config.every();
    return now.plus(every != null && every.compareTo(Duration.ofMinutes(1)) < 0 ? every : Duration.ofMinutes(1));
  }

  /** The next scheduled instant after {@code t}. */
  Instant after(Instant t) {
    Duration every = config.every();
    if (every != null) {
      return t.plus(every);
    }
    LocalTime at = config.daily();
    ZonedDateTime z = t.atZone(ZoneOffset.UTC).with(at).withNano(0);
    if (!z.toInstant().isAfter(t)) {
      z = z.plusDays(1);
    }
    return z.toInstant();
  }

  private void loop() {
    while (true) {
      lock.lock();
      try {
        while (!closed) {
          Duration left = Duration.between(clock.instant(), next);
          if (left.isNegative() || left.isZero()) {
            break;
          }
          wake.awaitNanos(left.toNanos());
        }
        if (closed) {
          return;
        }
      } catch (InterruptedException e) {
        return;
      } finally {
        lock.unlock();
      }
      Instant due = next;
      // The next instant counts from this one (an "every" schedule from its start), and never falls in the past.
      Instant n = after(due);
      Instant now = clock.instant();
      next = n.isAfter(now) ? n : after(now);
      runOnce();
    }
  }

  /** Makes, verifies and (after a verified backup only) applies retention; records the outcome. Never throws. */
  Status runOnce() {
    Instant started = clock.instant();
    Status s;
    try {
      if (config.bucket() != null) {
        // Verified before its upload (the staged copy), each object's SHA-256 checked by the bucket, retention after.
        BucketBackup.Uploaded u = bucketMaker.make(config.bucket(), PREFIX, config.keep(), config.keepDays());
        s = new Status(started, clock.instant(), true, "", u.location(), u.messages(), u.blobs(), u.bytes(),
            u.deleted(), next);
      } else {
        s = intoFolder(started);
      }
    } catch (RuntimeException | IOException e) {
      s = new Status(started, clock.instant(), false, Errors.plain(e), "", 0, 0, 0, 0, next);
    }
    write(s); // first: once status() shows a run, the file says the same
    last = s;
    if (s.ok()) {
      log.info("scheduled backup {}: {} messages, {} blobs, {} bytes in {} s, verified; {} older deleted; next at {}",
          s.backup(), s.messages(), s.blobs(), s.bytes(), Duration.between(s.started(), s.finished()).toSeconds(),
          s.deleted(), s.next());
    } else {
      log.warn("scheduled backup into {} failed: {}{}", config.destination(), s.error(),
          s.next() == null ? "" : "; trying again at " + s.next());
    }
    return s;
  }

  /** A backup into the folder, verified, then retention there. */
  private Status intoFolder(Instant started) throws IOException {
    Backup.removePartial(folder, PREFIX);
    Backup.Created b = maker.make(folder, PREFIX);
    Backup.Report r = Backup.verify(b.path());
    if (!r.ok()) {
      return new Status(started, clock.instant(), false, "the new backup " + b.path() + " does not verify: "
          + r.problems().getFirst() + (r.problemCount() > 1 ? " (and " + (r.problemCount() - 1) + " more)" : "")
          + "; no older backup deleted", b.path().toString(), r.messages(), r.blobs(), b.bytes(), 0, next);
    }
    int deleted = retain(b.path());
    return new Status(started, clock.instant(), true, "", b.path().toString(), r.messages(), r.blobs(), b.bytes(),
        deleted, next);
  }

  /**
   * Deletes the scheduled backups retention does not keep: all but the newest {@code keep} (by their MANIFEST's
   * time) that are also older than {@code keep_days}; never {@code newest}. Returns how many.
   */
  private int retain(Path newest) {
    List<Path> ours = new ArrayList<>();
    for (Backup.Listed l : Backup.listBackups(folder)) {
      String n = l.folder().getFileName().toString();
      if (n.startsWith(PREFIX + "-") && !n.endsWith(".partial") && !l.head().isEmpty()) {
        ours.add(l.folder());
      }
    }
    ours.sort(java.util.Comparator.comparing(BackupScheduler::created)
        .thenComparing(p -> p.getFileName().toString()));
    Instant cutoff = clock.instant().minus(Duration.ofDays(config.keepDays()));
    int deleted = 0;
    for (int i = 0; i < ours.size() - config.keep(); i++) {
      Path p = ours.get(i);
      if (p.equals(newest) || (config.keepDays() > 0 && created(p).isAfter(cutoff))) {
        continue;
      }
      log.info("scheduled backups: deleting {} (retention: keep {}{})", p, config.keep(),
          config.keepDays() > 0 ? ", and " + config.keepDays() + " days" : "");
      Backup.deleteTree(p);
      deleted++;
    }
    return deleted;
  }

  private static Instant created(Path backup) {
    try {
      return Instant.parse(Backup.manifest(backup).get("created"));
    } catch (RuntimeException e) {
      return Instant.EPOCH; // no readable time: the backup's age does not keep it
    }
  }

  /** The last scheduled backup's outcome (null when none ran, here or in an earlier run of the server). */
  public Status status() {
    Status s = last;
    if (s != null && next != null) {
      s = new Status(s.started(), s.finished(), s.ok(), s.error(), s.backup(), s.messages(), s.blobs(), s.bytes(),
          s.deleted(), next);
    }
    return s;
  }

  /**
   * What the admin console shows (its API calls this): the schedule ({@code schedule}, {@code folder},
   * {@code keep}, {@code keep_days}, {@code next}) and under {@code last} the last run's {@link Status#toMap} (null
   * when none ran), as JSON.
   */
  public String json() {
    return json(config, dataDir, status(), next, clock.instant());
  }

  /** {@link #json()} for a server that is not running (the status file, the configuration). */
  public static String json(Plan config, Path dataDir, Status last, Instant next, Instant now) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("schedule", config.schedule());
    m.put("folder", config.destination());
    m.put("keep", config.keep());
    m.put("keep_days", config.keepDays());
    m.put("next", next == null ? null : next.toString());
    m.put("last", last == null ? null : last.toMap(now));
    return JSON.writeValueAsString(m);
  }

  /** When the next scheduled backup starts, or null when they are off. */
  public Instant next() {
    return next;
  }

  public Plan config() {
    return config;
  }

  /** The status file of a data directory. */
  public static Path statusFile(Path dataDir) {
    return DataDir.of(dataDir).backup().resolve(STATUS_FILE);
  }

  /** Reads the status file (for {@code backup status} when the server is stopped); null when there is none. */
  public static Status read(Path dataDir) {
    Path f = statusFile(dataDir);
    try {
      if (!Files.isRegularFile(f) || Files.size(f) > MAX_STATUS_BYTES) {
        return null;
      }
      JsonNode n = JSON.readTree(Files.readString(f, StandardCharsets.UTF_8));
      return new Status(instant(n, "started"), instant(n, "finished"), n.path("ok").asBoolean(false),
          n.path("error").asString(""), n.path("backup").asString(""), n.path("messages").asLong(0),
          n.path("blobs").asInt(0), n.path("bytes").asLong(0), n.path("deleted").asInt(0), instant(n, "next"));
    } catch (IOException | RuntimeException e) {
      log.warn("cannot read {}: {}", f, e.getMessage());
      return null;
    }
  }

  private static Instant instant(JsonNode n, String key) {
    String v = n.path(key).asString("");
    return v.isEmpty() ? null : Instant.parse(v);
  }

  private void write(Status s) {
    Path f = statusFile(dataDir);
    try {
      Files.createDirectories(f.getParent());
      Path tmp = f.resolveSibling(STATUS_FILE + ".new");
      Files.writeString(tmp, s.toJson(clock.instant()) + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException e) {
      log.warn("cannot write {}: {}", f, Errors.plain(e));
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      wake.signalAll();
    } finally {
      lock.unlock();
    }
    if (thread != null) {
      try {
        // A backup in progress gets a little time; one still running fails when the store closes, and its
        // .partial folder goes.
        thread.join(Duration.ofSeconds(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
