package org.darwinmail.delivery;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.darwinmail.config.DeliveryConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.delivery.RemoteDelivery.Link;
import org.darwinmail.delivery.RemoteDelivery.Result;
import org.darwinmail.dns.Dns;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Directory;
import org.darwinmail.store.QueueRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound queue's delivery engine: a scheduler thread picks due recipients, groups them by message and
 * destination domain, and runs one SMTP transaction per group on a virtual thread, within the global and
 * per-destination concurrency limits. Results: 2xx removes the recipient, 5xx bounces it (RFC 3464 DSN), 4xx and
 * network or DNS failures retry it with growing waits until the lifetime is over; a delay notice is sent once.
 *
 * <p>Durability: a recipient row is removed only after the remote server accepted the message (its final 250),
 * so a crash or restart at any point before that retries it, and one after it is the only window for a
 * duplicate (RFC 5321 §6.1 accepts that).
 *
 * <p>Several nodes on one queue (issue 20): the engine attempts only recipients it holds a lease on
 * ({@link QueueRepository}): the mail it queues itself is leased to it as it is added, the rest it claims when
 * due; it renews its leases every quarter of {@link #lease} while it runs, gives back what it had not started when
 * it closes, and does not start an attempt whose lease has less than half its length left (the renewals failed:
 * the database is out of reach, and another node may soon take the recipient). A node that dies leaves its
 * recipients due again when their leases end. A failure is recorded only under the lease the attempt was made
 * under (the fencing token); a delivery always is. On Derby (one process) the leases of a previous run are given
 * back at start.
 *
 * <p>The SMTP conversation itself (routing, EHLO, STARTTLS, MAIL/RCPT/DATA, reply classification) is {@link
 * RemoteDelivery}'s; this class only decides what to attempt when and what each result means for the queue.
 */
public final class DeliveryEngine implements Outbound, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DeliveryEngine.class);

  private final ServerConfig config;
  private final DeliveryConfig dc;
  private final QueueRepository queue;
  private final BlobStore blobs;
  private final Directory directory;
  /** Where DSNs go: the one acceptance service (local copies; remote ones queued here). */
  private final Acceptance acceptance;
  private final Dkim dkim;
  /** The conversation with remote servers: this class schedules it and records its results. */
  private final RemoteDelivery remote;

  /** Recipients read from the queue at most this many at a time. */
  private static final int READ_LIMIT = 2000;
  /** The queue is read at least this often, whatever else happens. */
  private static final Duration READ_AT_LEAST_EVERY = Duration.ofMinutes(1);
  /** Messages sent over one outbound connection at most, before it is closed and a new one opened. */
  private static final int REUSE_LIMIT = 100;
  /**
   * How long a lease lasts unless renewed: how long the recipients of a node that died wait for another node. Renewed
   * every quarter of it, so an attempt (whatever its SMTP timeouts) keeps its lease while its node lives. The
   * default of {@code [delivery] lease_seconds}, which the server passes.
   */
  public static final Duration LEASE = Duration.ofMinutes(2);

  private final Duration lease;
  /** This engine's name on its leases: unique among the nodes running now (host name, process id, a random part). */
  private final String owner;

  private final Object lock = new Object();
  // Guarded by lock: ----------------------------------------------------------------------------------------
  private boolean wake;
  private volatile boolean running;
  private Thread scheduler;
  /** The queue may hold due recipients the schedule does not know of: read it (start-up, wake(), a full read). */
  private boolean reread = true;
  /** A read returned READ_LIMIT rows: read again once those have started. */
  private boolean moreDue;
  /** When the first deferred recipient becomes due. */
  private Instant nextLook = Instant.MIN;
  private Instant lastRead = Instant.MIN;
  /**
   * Due groups (one message, one destination domain) not started yet, by destination ({@link #destination}), then
   * oldest first by "messageId domain". By destination so that a wake-up looks at the few destinations, not at
   * every group of a backlog whose destination is at its connection limit (that scan was 5 % of the CPU of a
   * relay benchmark with 8,000 messages queued to one domain).
   */
  private final LinkedHashMap<String, LinkedHashMap<String, List<QueueRepository.Rcpt>>> pending = new LinkedHashMap<>();
  /** Recipients pending or in flight, by id, as leased (the token and end of the lease last known). */
  private final Map<Long, QueueRepository.Rcpt> known = new HashMap<>();
  /** When the leases were last renewed. */
  private Instant lastRenew = Instant.MIN;
  /** A read of the queue is running. */
  private boolean reading;
  /**
   * Recipients whose attempt ended while a read of the queue ran: the read may predate their removal or deferral,
   * so its rows for them are dropped rather than sent twice.
   */
  private final Set<Long> settled = new HashSet<>();
  private final Map<String, Integer> perDestination = new HashMap<>();
  private int active;
  // ------------------------------------------------------------------------------------------------------------
  /**
   * Enqueues hold it shared from their insert until their recipients are pending; a read of the queue holds it
   * exclusively. So a read never sees committed recipients that are about to be handed over a second time.
   */
  private final java.util.concurrent.locks.ReentrantReadWriteLock handOver =
      new java.util.concurrent.locks.ReentrantReadWriteLock();

  private final Counter delivered = Metrics.counter("darwinmail.delivery.recipients", "result", "delivered");
  private final Counter deferred = Metrics.counter("darwinmail.delivery.recipients", "result", "deferred");
  private final Counter bounced = Metrics.counter("darwinmail.delivery.recipients", "result", "bounced");
  private final AtomicLong queued = new AtomicLong();
  /** Recipients this engine delivered since it was made (the counters above are the process's, all engines'). */
  private final AtomicLong deliveredHere = new AtomicLong();
  /** Queue entries (by id) not to attempt: the abuse guard's held mail of blocked senders (issue 6). */
  private final java.util.function.LongPredicate held;
  /** The MTA-STS policies and TLS report counts kept (null: in memory only). */
  private final org.darwinmail.store.MtaStsRepository stsCache;
  /** The daily TLS reports (null: none sent from here). */
  private final TlsReports tlsReports;
  /** The events of outbound mail, for the delivery trace (durable: {@link TraceLog}, the queue's transactions). */
  private final DeliveryLog trace;

  /** @param held queue entries (by id) not to attempt: the abuse guard's held mail of blocked senders (issue 6) */
  public DeliveryEngine(ServerConfig config, QueueRepository queue, BlobStore blobs, Directory directory,
      Acceptance acceptance, Dns dns, java.util.function.LongPredicate held) {
    this(config, queue, blobs, directory, acceptance, dns, held, LEASE);
  }

  /** @param lease how long a lease lasts unless renewed ({@link #LEASE}; tests make it seconds) */
  public DeliveryEngine(ServerConfig config, QueueRepository queue, BlobStore blobs, Directory directory,
      Acceptance acceptance, Dns dns, java.util.function.LongPredicate held, Duration lease) {
    this(config, queue, blobs, directory, acceptance, dns, held, lease, null);
  }

  /**
   * @param stsCache where the MTA-STS policies of recipient domains and the TLS report counts are kept (V016);
   *                 null: in memory only
   */
  public DeliveryEngine(ServerConfig config, QueueRepository queue, BlobStore blobs, Directory directory,
      Acceptance acceptance, Dns dns, java.util.function.LongPredicate held, Duration lease,
      org.darwinmail.store.MtaStsRepository stsCache) {
    this.lease = lease;
    String host = config.hostname();
    // Within queue_recipients.lease_owner (200 characters) whatever the host name's length.
    this.owner = (host.length() > 150 ? host.substring(0, 150) : host) + "/" + ProcessHandle.current().pid() + "/"
        + Long.toHexString(new java.security.SecureRandom().nextLong() >>> 16);
    this.config = config;
    this.held = held;
    this.dc = config.delivery();
    this.queue = queue;
    this.blobs = blobs;
    if (blobs != null) {
      queue.fenceClaims(blobs::fence); // several nodes: no row commits on a claim lost meanwhile (BlobStore#fence)
    }
    this.directory = directory;
    this.acceptance = acceptance.via(this);
    this.trace = new DeliveryLog(acceptance.traceLog());
    this.dkim = new Dkim(config.dataDir(), dc.dkimSelector());
    this.remote = new RemoteDelivery(config, blobs, directory, dns, dkim, stsCache);
    this.stsCache = stsCache;
    // TLS reports (RFC 8460) of what MTA-STS counted: only where it counts (no smarthost) and keeps the counts
    this.tlsReports = stsCache != null && remote.policies() != null && dc.tlsRptReports()
        ? new TlsReports(config.hostname(), dc.tlsRptOrganization(), dns, stsCache, this.acceptance,
            new PolicyFetch(dns, 443, remote::stsFactory), owner, java.time.Clock.systemUTC())
        : null;
  }

  public QueueRepository queue() {
    return queue;
  }

  public Dkim dkim() {
    return dkim;
  }

  /** Recipients this engine delivered since it was made. */
  public long deliveredHere() {
    return deliveredHere.get();
  }

  /** This engine's name on the leases it holds. */
  public String owner() {
    return owner;
  }

  private QueueRepository.Lease leaseFrom(Instant now) {
    return new QueueRepository.Lease(owner, now.plus(lease));
  }

  /** The MTA-STS policies cached and the TLS report counts (V016); null when kept in memory only. */
  public org.darwinmail.store.MtaStsRepository mtaSts() {
    return stsCache;
  }

  /** The daily TLS reports (RFC 8460), or null: off, MTA-STS off, a smarthost, or no database. */
  public TlsReports tlsReports() {
    return tlsReports;
  }

  /** Recent events of outbound mail (the admin console's delivery trace). */
  public DeliveryLog trace() {
    return trace;
  }

  // ---- Outbound ---------------------------------------------------------------------------------------------

  @Override
  public void enqueue(String sender, List<String> recipients, BlobRef blob, boolean smtputf8, String account) {
    enqueue(sender, recipients, blob, smtputf8, account, Origin.NONE);
  }

  @Override
  public void enqueue(String sender, List<String> recipients, BlobRef blob, boolean smtputf8, String account,
      Origin origin) {
    List<QueueRepository.Rcpt> rows;
    String how = (origin.client().isEmpty() ? "written by this server" : "received from " + origin.client())
        + (account == null ? "" : ", submitted by " + account);
    Instant at = Instant.now();
    // the trace's "queued" event of each recipient, in the queue's own transaction
    java.util.function.Function<QueueRepository.Rcpt, org.darwinmail.store.TraceRepository.Event> queuedEvent =
        r -> new org.darwinmail.store.TraceRepository.Event(at, "queued", r.messageId(), origin.messageId(),
            sender == null ? "" : sender, r.recipient(), origin.client(), blob.size(), "", how);
    handOver.readLock().lock();
    try {
      try (BlobStore.Claim claim = blobs.claim(List.of(blob.hash()))) { // kept from the collector until queued
        // Leased to this engine as they are added, so that no other node attempts them meanwhile; due now for any
        // node when this engine does not run (a CLI process queuing a DSN).
        String from = sender == null ? "" : sender;
        rows = queue.add(from, recipients, blob.hash(), blob.size(), smtputf8, account,
            running ? leaseFrom(Instant.now()) : null, trace.sink() == null ? r -> null : queuedEvent);
      }
      synchronized (lock) {
        if (!rows.isEmpty() && rows.getFirst().leaseOwner() != null) { // else the first read claims them
          rows.forEach(this::addPending);
        }
        wake = true;
        lock.notifyAll();
      }
    } finally {
      handOver.readLock().unlock();
    }
    queued.addAndGet(recipients.size());
    log.info("queued {} for {} recipient(s) from <{}>", rows.isEmpty() ? "nothing" : rows.getFirst().messageId(),
        recipients.size(), sender);
  }

  // ---- scheduler --------------------------------------------------------------------------------------------
  //
  // The schedule keeps the due recipients it knows of in memory: new mail is handed over by enqueue, deferred
  // mail is read back from the queue when its time comes (nextLook), and wake() (queue retry, sender unblock)
  // makes it read the queue again. So the queue is read when something there changed, not at every delivery.

  public void start() {
    try {
      int orphaned = queue.releaseOrphanedLeases(Instant.now());
      if (orphaned > 0) {
        log.info("{} queued recipient(s) leased by the previous run are due again", orphaned);
      }
    } catch (org.darwinmail.store.StoreException e) {
      // A start on a full disk (the database read-only): a lease is due when it ends anyway, this only hastened it.
      log.warn("cannot release the previous run's leases now ({}); those recipients are due when their leases end",
          e.getMessage());
    }
    running = true;
    queued.set(queue.size());
    // Registered by a running engine only: a CLI process makes one (DarwinMail.Services) but never starts it.
    Gauge.builder("darwinmail.queue.recipients", queued, AtomicLong::get).register(Metrics.globalRegistry);
    scheduler = Thread.ofVirtual().name("delivery-scheduler").start(this::schedule);
    if (tlsReports != null) {
      tlsReports.start();
    }
  }

  /** Tells the schedule that the queue changed behind it (retry, unblock): it reads it now. */
  public void wake() {
    synchronized (lock) {
      reread = true;
      wake = true;
      lock.notifyAll();
    }
  }

  private void schedule() {
    while (running) {
      long waitMs;
      try {
        waitMs = runDue();
      } catch (RuntimeException e) {
        log.warn("delivery scheduler: {}", e.toString());
        waitMs = 5000;
      }
      synchronized (lock) {
        if (!wake && running && waitMs > 0) {
          try {
            lock.wait(waitMs);
          } catch (InterruptedException e) {
            return;
          }
        }
        wake = false;
      }
    }
  }

  private static String groupKey(QueueRepository.Rcpt r) {
    return r.messageId() + " " + r.domain();
  }

  /**
   * Adds a recipient this engine holds a lease on (holding lock). One it knows already was claimed again after its
   * lease ended: a pending copy takes the new lease; one in flight keeps the lease it was attempted under.
   */
  private void addPending(QueueRepository.Rcpt r) {
    if (known.put(r.id(), r) == null) {
      pending.computeIfAbsent(destination(r), k -> new LinkedHashMap<>())
          .computeIfAbsent(groupKey(r), k -> new ArrayList<>()).add(r);
      return;
    }
    replacePending(r);
  }

  /** Recipients read from the queue at most this many at a time: what can start soon, so that nodes share. */
  private int claimLimit() {
    return Math.clamp(4L * dc.concurrency(), 50, READ_LIMIT);
  }

  /** Reads the due recipients and the time of the next deferred one. */
  private void read(Instant now) {
    handOver.writeLock().lock();
    try {
      synchronized (lock) {
        reread = false;
        reading = true;
        settled.clear();
      }
      List<QueueRepository.Rcpt> due = List.of();
      Instant later = null;
      boolean read = false;
      try {
        due = queue.claim(now, claimLimit(), leaseFrom(now));
        later = queue.nextDueAfter(now);
        read = true;
      } finally {
        synchronized (lock) {
          reading = false;
          for (QueueRepository.Rcpt r : due) {
            if (!settled.contains(r.id())) {
              addPending(r);
            }
          }
          settled.clear();
          if (read) {
            moreDue = due.size() >= claimLimit();
            nextLook = later == null ? Instant.MAX : later;
            lastRead = now;
          } else {
            reread = true; // after the scheduler's pause for errors
          }
        }
      }
    } finally {
      handOver.writeLock().unlock();
    }
  }

  /** Starts what may start; returns how long to wait before looking again (0: now). */
  private long runDue() {
    Instant now = Instant.now();
    boolean read;
    synchronized (lock) {
      read = reread || !now.isBefore(nextLook) || !now.isBefore(lastRead.plus(READ_AT_LEAST_EVERY));
    }
    if (read) {
      read(now);
    }
    if (!now.isBefore(lastRenew.plus(lease.dividedBy(4)))) {
      renew(now);
    }
    synchronized (lock) {
      var dests = pending.entrySet().iterator();
      while (dests.hasNext() && active < dc.concurrency()) {
        var d = dests.next();
        String dest = d.getKey();
        var groups = d.getValue().values().iterator();
        while (groups.hasNext() && active < dc.concurrency()
            && perDestination.getOrDefault(dest, 0) < dc.perDestination()) {
          List<QueueRepository.Rcpt> g = groups.next();
          groups.remove();
          active++;
          perDestination.merge(dest, 1, Integer::sum);
          Thread.ofVirtual().name("delivery-" + dest).start(() -> run(g, dest));
        }
        if (d.getValue().isEmpty()) {
          dests.remove();
        }
      }
      if (moreDue && pending.isEmpty()) {
        moreDue = false;
        reread = true;
      }
      if (reread) {
        return 0;
      }
      Instant next = nextLook.isBefore(lastRead.plus(READ_AT_LEAST_EVERY)) ? nextLook
          : lastRead.plus(READ_AT_LEAST_EVERY);
      Instant renewal = lastRenew.plus(lease.dividedBy(4));
      if (!known.isEmpty() && renewal.isBefore(next)) {
        next = renewal;
      }
      return Math.max(1, Duration.between(Instant.now(), next).toMillis());
    }
  }

  /**
   * Renews the leases of every recipient pending or in flight. One no longer held (another node claimed it after
   * its lease ended, while this engine could not renew) leaves the schedule if it has not started; one in flight
   * goes on, and its failure will not be recorded.
   */
  private void renew(Instant now) {
    List<QueueRepository.Rcpt> held;
    synchronized (lock) {
      held = List.copyOf(known.values());
    }
    if (held.isEmpty()) {
      lastRenew = now;
      return;
    }
    List<QueueRepository.Rcpt> renewed = queue.renew(held, leaseFrom(now));
    lastRenew = now;
    Map<Long, QueueRepository.Rcpt> byId = new HashMap<>();
    renewed.forEach(r -> byId.put(r.id(), r));
    int lost = 0;
    synchronized (lock) {
      for (QueueRepository.Rcpt r : held) {
        QueueRepository.Rcpt k = known.get(r.id());
        if (k == null || k.token() != r.token()) {
          continue; // finished, or claimed again, meanwhile
        }
        QueueRepository.Rcpt fresh = byId.get(r.id());
        if (fresh != null) {
          known.put(r.id(), fresh);
          replacePending(fresh);
        } else if (dropPending(r)) {
          known.remove(r.id());
          lost++;
        }
      }
    }
    if (lost > 0) {
      log.warn("{} queued recipient(s) not started here were claimed by another node (their lease had ended)", lost);
    }
  }

  /** Replaces the pending copy of {@code r} (holding lock). */
  private void replacePending(QueueRepository.Rcpt r) {
    var groups = pending.get(destination(r));
    List<QueueRepository.Rcpt> g = groups == null ? null : groups.get(groupKey(r));
    if (g != null) {
      g.replaceAll(x -> x.id() == r.id() ? r : x);
    }
  }

  /** Takes {@code r} out of the pending groups (holding lock); false when it is not pending (in flight). */
  private boolean dropPending(QueueRepository.Rcpt r) {
    var groups = pending.get(destination(r));
    List<QueueRepository.Rcpt> g = groups == null ? null : groups.get(groupKey(r));
    if (g == null || !g.removeIf(x -> x.id() == r.id())) {
      return false;
    }
    if (g.isEmpty()) {
      groups.remove(groupKey(r));
      if (groups.isEmpty()) {
        pending.remove(destination(r));
      }
    }
    return true;
  }

  /** Concurrency limits count per destination: the recipient domain, or the smarthost for all. */
  private String destination(QueueRepository.Rcpt r) {
    return dc.smarthost().isEmpty() ? r.domain() : "smarthost";
  }

  /**
   * One group's attempt on its own virtual thread; then, on the same SMTP connection, the next pending groups to
   * the same destination (as Postfix's connection cache does), so a backlog to one domain does not pay a new
   * connection, greeting, EHLO and TLS handshake per message. Frees its slot and wakes the schedule when it ends.
   */
  private void run(List<QueueRepository.Rcpt> first, String dest) {
    Link link = null;
    try {
      List<QueueRepository.Rcpt> g = first;
      for (int n = 1; g != null; n++) {
        try {
          link = deliverGroup(g, link);
        } catch (RuntimeException e) {
          log.error("delivery of queue entry {} failed", g.getFirst().messageId(), e);
          link = RemoteDelivery.closed(link);
        } finally {
          synchronized (lock) {
            for (QueueRepository.Rcpt r : g) {
              known.remove(r.id());
              if (reading) {
                settled.add(r.id());
              }
            }
          }
        }
        g = link == null || n >= REUSE_LIMIT ? null : nextPending(dest);
      }
    } finally {
      RemoteDelivery.closed(link);
      synchronized (lock) {
        active--;
        perDestination.merge(dest, -1, Integer::sum);
        wake = true;
        lock.notifyAll();
      }
    }
  }

  /** Takes the oldest pending group to {@code dest}, or null. */
  private List<QueueRepository.Rcpt> nextPending(String dest) {
    synchronized (lock) {
      if (!running) {
        return null;
      }
      var groups = pending.get(dest);
      if (groups == null) {
        return null;
      }
      var it = groups.values().iterator();
      List<QueueRepository.Rcpt> g = it.next();
      it.remove();
      if (groups.isEmpty()) {
        pending.remove(dest);
      }
      return g;
    }
  }

  /** A recipient was deferred until {@code next}: the schedule reads the queue again then. */
  private void deferredUntil(Instant next) {
    synchronized (lock) {
      if (next.isBefore(nextLook)) {
        nextLook = next;
      }
    }
  }

  @Override
  public void close() {
    running = false;
    if (tlsReports != null) {
      tlsReports.close();
    }
    wake();
    if (scheduler != null) {
      try {
        scheduler.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    // Let transactions in flight finish (a restart must not double them); bounded.
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    List<QueueRepository.Rcpt> notStarted = new ArrayList<>();
    synchronized (lock) {
      while (active > 0 && System.nanoTime() < deadline) {
        try {
          lock.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      pending.values().forEach(groups -> groups.values().forEach(notStarted::addAll));
      pending.clear();
      notStarted.forEach(r -> known.remove(r.id()));
    }
    // What this engine had not started is due again at once, for another node (or the next start), not at the end
    // of its leases.
    try {
      queue.release(notStarted, owner);
    } catch (RuntimeException e) {
      log.warn("could not give back the leases of {} queued recipient(s): {}", notStarted.size(), e.toString());
    }
  }

  // ---- one group: one message, one destination --------------------------------------------------------------

  /**
   * Attempts one group, on {@code link} when it is a connection kept open to the same destination; returns the
   * connection to keep for the next group, or null.
   */
  private Link deliverGroup(List<QueueRepository.Rcpt> group, Link link) {
    long messageId = group.getFirst().messageId();
    List<QueueRepository.Rcpt> rcpts = leased(group, Instant.now());
    if (rcpts.isEmpty()) {
      return link;
    }
    if (held.test(messageId)) {
      // Its sender is blocked: out of the schedule until "darwinmail sender unblock" makes it due again.
      queue.deferLeased(rcpts, Instant.now().plus(Duration.ofDays(3650)), "held: the sender is blocked");
      return link;
    }
    QueueRepository.Entry m = queue.message(messageId).orElse(null);
    if (m == null) {
      return link; // deleted meanwhile
    }
    recordMessageId(m);
    Map<Long, Result> results;
    if (!blobs.exists(m.blob())) {
      log.error("queue entry {}: body {} is missing", messageId, m.blob());
      results = RemoteDelivery.all(rcpts,
          Result.permanent("5.3.0", "the message body was lost from the queue", null));
    } else {
      try {
        RemoteDelivery.Outcome o = remote.transfer(m, rcpts.getFirst().domain(), rcpts, link);
        results = o.results();
        link = o.link();
      } catch (RuntimeException e) {
        log.error("queue entry {}: delivery failed unexpectedly", messageId, e);
        results = RemoteDelivery.all(rcpts, Result.temporary("4.3.0", "internal error: " + e, null));
        link = RemoteDelivery.closed(link);
      }
    }
    apply(m, rcpts, results);
    return link;
  }


  /**
   * The recipients of {@code group} whose lease has at least half its length left, as last renewed; the others
   * are not attempted here (the renewals are failing: another node may take them when their lease ends).
   */
  private List<QueueRepository.Rcpt> leased(List<QueueRepository.Rcpt> group, Instant now) {
    List<QueueRepository.Rcpt> out = new ArrayList<>();
    synchronized (lock) {
      for (QueueRepository.Rcpt r : group) {
        QueueRepository.Rcpt k = known.getOrDefault(r.id(), r);
        if (k.leasedBy(owner, now.plus(lease.dividedBy(2)))) {
          out.add(k);
        }
      }
    }
    if (out.size() < group.size()) {
      log.warn("queue entry {}: {} recipient(s) not attempted: their lease could not be renewed",
          group.getFirst().messageId(), group.size() - out.size());
    }
    return out;
  }

  /** Whether the lease {@code r} was attempted under is still this engine's at {@code now}, as last renewed. */
  private boolean stillLeased(QueueRepository.Rcpt r, Instant now) {
    synchronized (lock) {
      QueueRepository.Rcpt k = known.get(r.id());
      return k != null && k.token() == r.token() && k.leasedBy(owner, now);
    }
  }

  /**
   * Records the results: delivered and bounced recipients leave the queue, the others wait their next turn. A
   * failure is recorded (and its DSN sent) only under the lease the attempt was made under; a delivery always.
   */
  private void apply(QueueRepository.Entry m, List<QueueRepository.Rcpt> rcpts, Map<Long, Result> results) {
    Instant now = Instant.now();
    boolean expired = now.isAfter(m.created().plusSeconds(dc.lifetimeSeconds()));
    List<Long> done = new ArrayList<>();
    List<QueueRepository.Rcpt> failed = new ArrayList<>();
    List<Dsn.Failure> failures = new ArrayList<>();
    List<QueueRepository.Rcpt> later = new ArrayList<>();
    // the trace's events of the changes below, each written in the change's own transaction
    List<org.darwinmail.store.TraceRepository.Event> doneEvents = new ArrayList<>();
    Map<Long, org.darwinmail.store.TraceRepository.Event> failedEvents = new HashMap<>();
    int lost = 0;
    for (QueueRepository.Rcpt r : rcpts) {
      Result res = results.get(r.id());
      if (res.kind() != Result.Kind.DELIVERED && !stillLeased(r, now)) {
        lost++;
        trace.add(m.id(), "lease lost", m.sender(), r.recipient(), res.remoteMta(), res.detail());
        continue;
      }
      switch (res.kind()) {
        case DELIVERED -> {
          done.add(r.id());
          delivered.increment();
          deliveredHere.incrementAndGet();
          doneEvents.add(trace.event(m.id(), "delivered", m.sender(), r.recipient(), res.remoteMta(), res.detail()));
          log.info("queue entry {}: delivered to <{}> via {}: {}", m.id(), r.recipient(), res.remoteMta(),
              res.detail());
        }
        case PERMANENT -> {
          failed.add(r);
          failures.add(new Dsn.Failure(r.recipient(), res.status(), res.detail(), res.remoteMta()));
          bounced.increment();
          failedEvents.put(r.id(), trace.event(m.id(), "bounced", m.sender(), r.recipient(), res.remoteMta(),
              res.detail()));
          log.info("queue entry {}: <{}> failed: {}", m.id(), r.recipient(), res.detail());
        }
        case TEMPORARY -> {
          if (expired) {
            failed.add(r);
            String status = res.status().startsWith("4") ? "5" + res.status().substring(1) : res.status();
            failures.add(new Dsn.Failure(r.recipient(), status.equals("5.0.0") ? "5.4.7" : status,
                "delivery time expired after " + (r.attempts() + 1) + " attempts; last error: " + res.detail(),
                res.remoteMta()));
            bounced.increment();
            failedEvents.put(r.id(), trace.event(m.id(), "bounced", m.sender(), r.recipient(), res.remoteMta(),
                "expired: " + res.detail()));
            log.info("queue entry {}: <{}> expired: {}", m.id(), r.recipient(), res.detail());
          } else {
            later.add(r);
          }
        }
      }
    }
    if (lost > 0) {
      log.warn("queue entry {}: the failure of {} recipient(s) not recorded: their lease ended during the attempt",
          m.id(), lost);
    }
    if (!failures.isEmpty()) {
      notifySender(m, Dsn.Action.FAILED, failures);
    }
    List<QueueRepository.Rcpt> deferredHere = new ArrayList<>();
    for (QueueRepository.Rcpt r : later) {
      Result res = results.get(r.id());
      Instant next = now.plusSeconds(dc.retryAfter(r.attempts() + 1));
      var deferredEvent = trace.event(m.id(), "deferred", m.sender(), r.recipient(), res.remoteMta(), res.detail()
          + " (next attempt " + next + ")");
      if (queue.deferLeased(List.of(r), next, res.detail(), x -> trace.sink() == null ? null : deferredEvent)
          .isEmpty()) {
        log.warn("queue entry {}: <{}> not deferred: another node holds it now", m.id(), r.recipient());
        continue;
      }
      deferredHere.add(r);
      deferredUntil(next);
      deferred.increment();
      log.info("queue entry {}: <{}> deferred until {}: {}", m.id(), r.recipient(), next, res.detail());
    }
    if (!deferredHere.isEmpty() && !m.warned() && dc.delayWarningSeconds() > 0
        && now.isAfter(m.created().plusSeconds(dc.delayWarningSeconds()))) {
      List<Dsn.Failure> delayed = new ArrayList<>();
      for (QueueRepository.Rcpt r : deferredHere) {
        Result res = results.get(r.id());
        delayed.add(new Dsn.Failure(r.recipient(), res.status(), res.detail(), res.remoteMta()));
      }
      queue.markWarned(m.id());
      notifySender(m, Dsn.Action.DELAYED, delayed);
    }
    queue.remove(m.id(), done, trace.sink() == null ? List.of() : doneEvents);
    int removed = done.size();
    if (!failed.isEmpty()) {
      List<Long> gone = queue.removeLeased(m.id(), failed, x -> trace.sink() == null ? null
          : failedEvents.get(x.id()));
      if (gone.size() < failed.size()) {
        log.warn("queue entry {}: {} bounced recipient(s) were taken by another node meanwhile", m.id(),
            failed.size() - gone.size());
      }
      removed += gone.size();
    }
    queued.addAndGet(-removed);
  }

  /**
   * Reads the Message-ID, From and Subject of a queue entry once, at its first attempt (off the path that answers
   * the client).
   */
  private void recordMessageId(QueueRepository.Entry m) {
    if (trace.summaryOf(m.id()) != null) {
      return;
    }
    DeliveryLog.Summary summary = new DeliveryLog.Summary("", "", "");
    try (InputStream in = blobs.open(m.blob())) {
      summary = DeliveryLog.summary(in);
    } catch (IOException | RuntimeException e) {
      // a missing body is reported by the attempt itself
    }
    trace.summary(m.id(), summary);
  }

  // ---- the administrator's actions (the admin console's queue page) -----------------------------------------

  /** What an administrator's action did to one queued message. */
  public record Action(long messageId, int recipients, int inFlight, boolean found) {}

  /**
   * Takes a message's recipients out of the in-memory schedule and returns the queued ones not in a transaction
   * right now (a transaction in flight decides their fate itself). Called under {@link #handOver}'s read lock, so
   * no read of the queue runs meanwhile and puts them back.
   */
  private List<QueueRepository.Rcpt> takeOut(long messageId, int[] inFlight) {
    List<QueueRepository.Rcpt> rows = queue.recipients(messageId);
    Set<Long> pendingIds = new HashSet<>();
    synchronized (lock) {
      for (var dest = pending.values().iterator(); dest.hasNext(); ) {
        var groups = dest.next();
        for (var g = groups.entrySet().iterator(); g.hasNext(); ) {
          var e = g.next();
          if (e.getValue().getFirst().messageId() == messageId) {
            e.getValue().forEach(r -> pendingIds.add(r.id()));
            g.remove();
          }
        }
        if (groups.isEmpty()) {
          dest.remove();
        }
      }
      known.keySet().removeAll(pendingIds);
      List<QueueRepository.Rcpt> free = new ArrayList<>();
      Instant now = Instant.now();
      for (QueueRepository.Rcpt r : rows) {
        // In a transaction here, or under another node's running lease (in a transaction there, or about to be).
        if (known.containsKey(r.id()) || r.leaseOwner() != null && !r.leaseOwner().equals(owner)
            && r.nextAttempt().isAfter(now)) {
          inFlight[0]++;
        } else {
          free.add(r);
        }
      }
      return free;
    }
  }

  private Action act(long messageId, String kind, String who,
      java.util.function.Consumer<List<QueueRepository.Rcpt>> op) {
    handOver.readLock().lock();
    try {
      QueueRepository.Entry m = queue.message(messageId).orElse(null);
      if (m == null) {
        return new Action(messageId, 0, 0, false);
      }
      int[] inFlight = {0};
      List<QueueRepository.Rcpt> rcpts = takeOut(messageId, inFlight);
      if (!rcpts.isEmpty()) {
        op.accept(rcpts);
        for (QueueRepository.Rcpt r : rcpts) {
          trace.add(messageId, kind, m.sender(), r.recipient(), "", "by " + who);
        }
      }
      log.info("queue entry {}: {} {} recipient(s) by {}{}", messageId, kind, rcpts.size(), who,
          inFlight[0] == 0 ? "" : " (" + inFlight[0] + " in a transaction now, left alone)");
      return new Action(messageId, rcpts.size(), inFlight[0], true);
    } finally {
      handOver.readLock().unlock();
    }
  }

  /** How long an administrator's hold lasts: until released (as the abuse guard's hold). */
  public static final Duration HOLD = Duration.ofDays(3650);

  /**
   * Holds a queued message: its recipients leave the schedule until {@link #release} (pushed {@link #HOLD} out,
   * durably, as the abuse guard holds a blocked sender's mail; that counts as an attempt in the queue's row).
   */
  public Action hold(long messageId, String who) {
    return act(messageId, "held", who, rcpts -> queue.deferred(rcpts.stream().map(QueueRepository.Rcpt::id).toList(),
        Instant.now().plus(HOLD), "held by " + who + " (release it from the console's queue page)"));
  }

  /** Makes a queued message due now (after a hold, or to retry before its time) and wakes the schedule. */
  public Action retryNow(long messageId, String kind, String who) {
    Action a = act(messageId, kind, who, rcpts -> {
      // Leased here and taken out of the schedule: given back first, as retryNow leaves running leases alone.
      queue.release(rcpts.stream().filter(r -> owner.equals(r.leaseOwner())).toList(), owner);
      queue.retryNow(List.of(messageId));
    });
    wake();
    return a;
  }

  /** Deletes a queued message without telling its sender. */
  public Action delete(long messageId, String who) {
    Action a = act(messageId, "deleted", who, rcpts -> {
      queue.remove(messageId, rcpts.stream().map(QueueRepository.Rcpt::id).toList());
    });
    queued.addAndGet(-a.recipients());
    return a;
  }

  /**
   * Returns a queued message to its sender: a DSN (RFC 3464, "failed", status 5.0.0) naming the recipients not
   * delivered, through the one acceptance path, then the recipients leave the queue.
   */
  public Action bounce(long messageId, String who) {
    QueueRepository.Entry m = queue.message(messageId).orElse(null);
    if (m == null) {
      return new Action(messageId, 0, 0, false);
    }
    Action a = act(messageId, "bounced", who, rcpts -> {
      List<Dsn.Failure> failures = new ArrayList<>();
      for (QueueRepository.Rcpt r : rcpts) {
        failures.add(new Dsn.Failure(r.recipient(), "5.0.0", "returned to the sender by the postmaster"
            + (r.lastError() == null ? "" : "; last error: " + r.lastError()), null));
      }
      notifySender(m, Dsn.Action.FAILED, failures);
      queue.remove(messageId, rcpts.stream().map(QueueRepository.Rcpt::id).toList());
    });
    bounced.increment(a.recipients());
    queued.addAndGet(-a.recipients());
    return a;
  }

  /**
   * Sends a DSN to the envelope sender: into the INBOX when it is local, through the queue (null sender) when it is
   * remote; never for the null sender (RFC 5321 §6.1, RFC 3464 §2).
   */
  private void notifySender(QueueRepository.Entry m, Dsn.Action action, List<Dsn.Failure> failures) {
    if (m.sender().isEmpty()) {
      log.info("queue entry {}: no {} notice for the null sender", m.id(), action);
      return;
    }
    try (InputStream original = blobs.open(m.blob())) {
      byte[] body = Dsn.build(config.hostname(), m.sender(), action, m.created(), failures, original, m.smtputf8());
      // Routed like any accepted message: a local sender's mailbox (Return-Path: <>), else the queue, null sender.
      if (acceptance.submit("", List.of(m.sender()), body, m.smtputf8()).none()) {
        log.warn("queue entry {}: the sender <{}> has no mailbox here; notice dropped", m.id(), m.sender());
        return;
      }
    } catch (IOException e) {
      log.error("queue entry {}: cannot write the {} notice", m.id(), action, e);
      return;
    }
    log.info("queue entry {}: {} notice sent to <{}>", m.id(), action, m.sender());
  }

}
