package org.darwinmail.config;

import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scheduled backups ({@code [backup]}; ARCHITECTURE.md, "Backups"). Off while {@code schedule} is empty.
 *
 * @param schedule {@code "daily HH:MM"} (UTC) or {@code "every N<s|m|h|d>"} (from the last scheduled start; the
 *                 first one interval after the server starts); {@code ""}: no scheduled backups
 * @param folder   where they go: an absolute path, or relative to data_dir; {@code ""}: {@code <data_dir>/backup}.
 *                 Another disk is better; on the data disk the backups share the blobs by hard links. Or a bucket,
 *                 {@code s3://BUCKET[/PREFIX]}, reached with {@code [backup.s3]} (store.BucketBackup)
 * @param keep     the newest scheduled backups kept (at least 1); older ones are deleted only after a new one
 *                 passed {@code backup verify}
 * @param keepDays scheduled backups younger than this many days are kept too, whatever {@code keep} says (0: none)
 * @param s3       {@code [backup.s3]}: the endpoint and key of {@code s3://} destinations (this one's and
 *                 {@code backup create s3://...}'s)
 */
public record BackupConfig(String schedule, String folder, Integer keep, Integer keepDays, BackupS3Config s3) {
  private static final Pattern DAILY = Pattern.compile("daily\\s+(\\d{1,2}:\\d{2})");
  private static final Pattern EVERY = Pattern.compile("every\\s+(\\d{1,7})\\s*([smhd])");

  public BackupConfig {
    schedule = schedule == null ? "" : schedule.strip();
    folder = folder == null ? "" : folder.strip();
    keep = keep == null ? 7 : keep;
    keepDays = keepDays == null ? 0 : keepDays;
    s3 = s3 == null ? BackupS3Config.defaults() : s3;
    Checks.range("backup.keep", keep, 1, 10_000);
    Checks.range("backup.keep_days", keepDays, 0, 36_500);
    if (!schedule.isEmpty() && daily(schedule) == null && every(schedule) == null) {
      throw new ConfigException("backup.schedule: \"" + schedule + "\" is not a schedule (\"daily 03:30\", UTC, or"
          + " \"every 6h\", with s, m, h or d)");
    }
    if (BackupS3Config.isBucket(folder)) {
      try {
        s3.target(folder); // the destination's form, the endpoint and a readable key, checked at start
      } catch (ConfigException e) {
        throw new ConfigException("backup.folder: " + e.getMessage(), e);
      }
    }
  }

  /** Without {@code [backup.s3]}. */
  public BackupConfig(String schedule, String folder, Integer keep, Integer keepDays) {
    this(schedule, folder, keep, keepDays, null);
  }

  public static BackupConfig defaults() {
    return new BackupConfig(null, null, null, null, null);
  }

  public boolean enabled() {
    return !schedule.isEmpty();
  }

  /** The time of day (UTC) of a {@code daily} schedule, else null. */
  public LocalTime daily() {
    return daily(schedule);
  }

  private static LocalTime daily(String schedule) {
    Matcher m = DAILY.matcher(schedule);
    if (!m.matches()) {
      return null;
    }
    try {
      return LocalTime.parse(m.group(1).length() == 4 ? "0" + m.group(1) : m.group(1));
    } catch (DateTimeParseException e) {
      throw new ConfigException("backup.schedule: \"" + m.group(1) + "\" is not a time of day (HH:MM)");
    }
  }

  /** The interval of an {@code every} schedule, else null. */
  public Duration every() {
    return every(schedule);
  }

  private static Duration every(String schedule) {
    Matcher m = EVERY.matcher(schedule);
    if (!m.matches()) {
      return null;
    }
    long n = Long.parseLong(m.group(1));
    Duration d = switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
    if (d.isZero() || d.compareTo(Duration.ofDays(366)) > 0) {
      throw new ConfigException("backup.schedule: \"" + schedule + "\" is out of range (1s to 366d)");
    }
    return d;
  }

  /** What the server's scheduler (store.BackupScheduler) runs, for a data directory. */
  public org.darwinmail.store.BackupScheduler.Plan plan(Path dataDir) {
    return new org.darwinmail.store.BackupScheduler.Plan(schedule, every(), daily(), folder(dataDir), keep, keepDays,
        bucket() ? s3.target(folder) : null);
  }

  /** Whether the scheduled backups go to a bucket ({@code folder = "s3://..."}). */
  public boolean bucket() {
    return BackupS3Config.isBucket(folder);
  }

  /**
   * The folder of the scheduled backups for a data directory; for a bucket, {@code <data_dir>/backup} (where the
   * status file is, and where each backup is staged before its upload).
   */
  public Path folder(Path dataDir) {
    return folder.isEmpty() || bucket() ? dataDir.resolve("backup") : dataDir.resolve(folder);
  }

  /** Where the scheduled backups go, as the user reads it: the folder, or {@code s3://BUCKET/PREFIX}. */
  public String destination(Path dataDir) {
    return bucket() ? folder : folder(dataDir).toString();
  }
}
