package org.darwinmail.store;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the store can take new mail (README, "A full disk"): the free space of the data directory's file system
 * against the reserve ({@code [store] disk_reserve_mb}), and whether the intake journal's applier is storing what
 * was accepted. The protocols ask {@link #full()} before taking a message (SMTP MAIL, RCPT, DATA and the end of
 * the data; IMAP APPEND) and answer {@code 452 4.3.1} / {@code NO [UNAVAILABLE]} when it is; the reserve is what
 * lets the applier, Derby and the messages already being received finish.
 *
 * <p>Free space is one {@code statvfs(2)} ({@link FileStore#getUsableSpace()}), read at most every
 * {@link #RECHECK_NANOS} whoever asks, and at once by {@link #recheck()} after a write failed. Each change of state
 * is one log line; metrics {@code darwinmail.disk.free.bytes} and {@code darwinmail.disk.full} (1 while new mail is
 * refused).
 */
public final class Capacity {
  private static final Logger log = LoggerFactory.getLogger(Capacity.class);
  private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
  /**
   * A write that fails with less than this free failed for want of space (a file system refuses a write before it
   * reports 0 bytes free; the message of ENOSPC is the C library's, possibly translated): with no reserve, or a
   * small one, mail is refused until this much is free again.
   */
  private static final long FAILED_WRITE_FLOOR = 16L << 20;

  private final Path dir;
  private final FileStore fileStore;
  private final long reserve;
  /** Free space under which mail is refused: the reserve, or {@link #FAILED_WRITE_FLOOR} after a write failed. */
  private volatile long threshold;
  private volatile long checkedAt = System.nanoTime() - RECHECK_NANOS;
  private volatile long free = Long.MAX_VALUE;
  private volatile boolean low;
  private volatile boolean stalled;

  /** The file system holding {@code dir}, with {@code reserveBytes} kept free (0: refuse only when it is full). */
  public Capacity(Path dir, long reserveBytes) {
    this.dir = dir;
    this.reserve = Math.max(1, reserveBytes);
    this.threshold = reserve;
    try {
      this.fileStore = Files.getFileStore(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the file system of " + dir, e);
    }
    refresh(true);
  }

  /** True while new mail is refused: free space below the reserve, or the applier cannot store. */
  public boolean full() {
    refresh(false);
    return low || stalled;
  }

  /**
   * After a write failed: reads the free space now, and answers {@link #full()}; a failure with less than
   * {@link #FAILED_WRITE_FLOOR} free counts as a full disk whatever the reserve.
   */
  public boolean recheck() {
    refresh(true);
    if (!low && free < FAILED_WRITE_FLOOR) {
      threshold = Math.max(reserve, FAILED_WRITE_FLOOR);
      change(false, true, free);
    }
    return low || stalled;
  }

  /** Free bytes on the file system, as last read. */
  public long freeBytes() {
    refresh(false);
    return free;
  }

  /** Whether the intake journal's applier cannot store what was accepted (set by {@link Intake}). */
  public boolean stalled() {
    return stalled;
  }

  void stalled(boolean s) {
    stalled = s;
  }

  private void refresh(boolean now) {
    long t = System.nanoTime();
    if (!now && t - checkedAt < RECHECK_NANOS) {
      return;
    }
    checkedAt = t;
    long f;
    try {
      f = fileStore.getUsableSpace();
    } catch (IOException e) {
      return; // the last reading stands
    }
    free = f;
    boolean wasLow = low;
    // Space must come back a margin above where mail stopped before it is taken again: no flapping at the edge.
    boolean isLow = wasLow ? f < threshold + Math.min(threshold / 8, 64L << 20) : f < reserve;
    if (isLow != wasLow) {
      change(wasLow, isLow, f);
    }
  }

  /** One log line per change of state (whoever sees it first). */
  private synchronized void change(boolean wasLow, boolean isLow, long f) {
    if (low != wasLow) {
      return;
    }
    low = isLow;
    if (isLow) {
      log.warn("disk: {} MiB free on the file system of {}, under the reserve of {} MiB (store.disk_reserve_mb){}:"
          + " new mail is refused (452 4.3.1) until space returns", f >> 20, dir, reserve >> 20,
          threshold > reserve ? " or too little for a write" : "");
    } else {
      threshold = reserve;
      log.info("disk: {} MiB free on the file system of {}: taking new mail again", f >> 20, dir);
    }
  }

  /** Publishes the gauges (replacing those of a store opened before in this process). */
  public void registerMetrics() {
    for (String name : new String[] {"darwinmail.disk.free.bytes", "darwinmail.disk.full"}) {
      Metrics.globalRegistry.find(name).meters().forEach(Metrics.globalRegistry::remove);
    }
    Gauge.builder("darwinmail.disk.free.bytes", this, Capacity::freeBytes).strongReference(true)
        .description("free bytes on the data directory's file system").baseUnit("bytes")
        .register(Metrics.globalRegistry);
    Gauge.builder("darwinmail.disk.full", this, c -> c.full() ? 1 : 0).strongReference(true)
        .description("1 while new mail is refused: free space under store.disk_reserve_mb, or mail not storable")
        .register(Metrics.globalRegistry);
  }
}
