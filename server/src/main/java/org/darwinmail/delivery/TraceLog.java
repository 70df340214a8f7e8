package org.darwinmail.delivery;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.concurrent.atomic.AtomicLong;
import org.darwinmail.store.TraceRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The delivery trace's writer and its retention (ARCHITECTURE.md, "Outbound delivery"; issue 17). The events of a
 * change to the queue are written by the queue in the change's own transaction ({@code QueueRepository}'s traced
 * methods); the others (a message received for local mailboxes, its copies stored, an administrator's action) are
 * handed here and written behind, at most {@link #FLUSH} later, in one transaction per batch on this class's
 * thread: never on the path that answers a client, and never an extra commit per message. At most {@link
 * #MAX_PENDING} wait; beyond that an event is dropped and counted (a stalled database). Every {@link #PRUNE_EVERY}
 * (the first time {@link #FIRST_PRUNE} after the start) the events older than the retention, then the oldest beyond
 * the row cap, are deleted; on several nodes each
 * prunes, which deletes the same rows (a no-op for the later ones).
 *
 * <p>Mail comes before its trace: while the data directory's disk has less than {@link #ROOM} free (or new mail is
 * refused), nothing is written behind and events wait (then drop, as above) until space returns. On a full disk a
 * trace batch that needs a new page was what made Derby stop and reopen, and sessions fail meanwhile
 * (tests/e2e/test_full_disk.py).
 */
public final class TraceLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TraceLog.class);
  static final Duration FLUSH = Duration.ofMillis(250);
  static final Duration PRUNE_EVERY = Duration.ofHours(1);
  /**
   * The first pruning, this long after the writer starts: not beside the first mail after a start (its row-cap
   * query walks the whole index of a large trace: 0.4 s of CPU at 200,000 events, issue 22).
   */
  static final Duration FIRST_PRUNE = Duration.ofMinutes(10);
  static final int MAX_PENDING = 10_000;
  /** Free space on the data directory's disk under which nothing is written behind. */
  public static final long ROOM = 64L << 20;

  private final TraceRepository repository;
  private final Duration retention;
  private final long maxRows;
  private final BooleanSupplier room;
  private final List<TraceRepository.Event> pending = new ArrayList<>();
  private final AtomicLong dropped = new AtomicLong();
  private Thread thread;
  private boolean closed;
  private Instant lastPrune = Instant.EPOCH;

  public TraceLog(TraceRepository repository, int retentionDays, long maxRows) {
    this(repository, retentionDays, maxRows, () -> true);
  }

  /** A writer that writes behind only while {@code room} says the disk has room ({@link #ROOM}). */
  public TraceLog(TraceRepository repository, int retentionDays, long maxRows, BooleanSupplier room) {
    this.repository = repository;
    this.room = room;
    this.retention = Duration.ofDays(retentionDays);
    this.maxRows = maxRows;
  }

  /** The store, for the trace's readers. */
  public TraceRepository repository() {
    return repository;
  }

  /** Starts writing behind and pruning (the server; a CLI process writes at once, {@link #add}). */
  public synchronized TraceLog start() {
    if (thread == null && !closed) {
      lastPrune = Instant.now().minus(PRUNE_EVERY).plus(FIRST_PRUNE);
      thread = Thread.ofPlatform().name("trace-writer").daemon().start(this::loop);
    }
    return this;
  }

  /** Records an event: written behind while the writer runs, else at once. Never throws. */
  public void add(TraceRepository.Event e) {
    boolean now;
    synchronized (this) {
      now = thread == null || closed;
      if (!now) {
        if (pending.size() >= MAX_PENDING) {
          if (dropped.getAndIncrement() == 0) {
            log.warn("delivery trace: {} events wait to be written; dropping new ones until they are", MAX_PENDING);
          }
          return;
        }
        pending.add(e);
        return;
      }
    }
    write(List.of(e));
  }

  /** Writes what waits now (tests; {@link #close}). */
  public void flush() {
    List<TraceRepository.Event> batch;
    synchronized (this) {
      batch = new ArrayList<>(pending);
      pending.clear();
    }
    write(batch);
  }

  private void write(List<TraceRepository.Event> batch) {
    if (batch.isEmpty()) {
      return;
    }
    try {
      repository.add(batch);
      long d = dropped.getAndSet(0);
      if (d > 0) {
        log.warn("delivery trace: written again; {} events were dropped meanwhile", d);
      }
    } catch (RuntimeException e) {
      dropped.addAndGet(batch.size());
      log.warn("delivery trace: cannot write {} events: {}", batch.size(),
          org.darwinmail.errors.Errors.plain(e));
    }
  }

  /** Deletes what retention and the row cap do not keep; returns how many events went. */
  public int prune(Instant now) {
    int gone = repository.prune(now.minus(retention), maxRows);
    if (gone > 0) {
      log.info("delivery trace: pruned {} events (older than {} days, or beyond {} rows)", gone, retention.toDays(),
          maxRows);
    }
    return gone;
  }

  private void loop() {
    while (true) {
      synchronized (this) {
        if (closed) {
          return;
        }
        try {
          wait(FLUSH.toMillis());
        } catch (InterruptedException e) {
          return;
        }
      }
      if (!room.getAsBoolean()) {
        continue;
      }
      flush();
      Instant now = Instant.now();
      if (Duration.between(lastPrune, now).compareTo(PRUNE_EVERY) >= 0) {
        lastPrune = now;
        try {
          prune(now);
        } catch (RuntimeException e) {
          log.warn("delivery trace: pruning failed: {}", org.darwinmail.errors.Errors.plain(e));
        }
      }
    }
  }

  /** Writes what waits and stops the writer. */
  @Override
  public void close() {
    Thread t;
    synchronized (this) {
      closed = true;
      notifyAll();
      t = thread;
    }
    if (t != null) {
      try {
        t.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (room.getAsBoolean()) {
      flush();
    } else {
      synchronized (this) {
        if (!pending.isEmpty()) {
          log.warn("delivery trace: {} events not written at shutdown: the disk is full", pending.size());
          pending.clear();
        }
      }
    }
  }
}
