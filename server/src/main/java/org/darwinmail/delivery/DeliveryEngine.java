package org.darwinmail.delivery;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.darwinmail.config.DeliveryConfig;
import org.darwinmail.config.HostPort;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.dns.Dns;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Directory;
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
 */
public final class DeliveryEngine implements Outbound, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DeliveryEngine.class);

  private final ServerConfig config;
  private final DeliveryConfig dc;
  private final Queue queue;
  private final BlobStore blobs;
  private final Directory directory;
  /** Where DSNs go: the one acceptance service (local copies; remote ones queued here). */
  private final Acceptance acceptance;
  private final Dns dns;
  private final Dkim dkim;
  /** TLS towards the smarthost: its certificate is verified (it receives our password). */
  private final javax.net.ssl.SSLSocketFactory smarthostTls;

  /** Recipients read from the queue at most this many at a time. */
  private static final int READ_LIMIT = 2000;
  /** The queue is read at least this often, whatever else happens. */
  private static final Duration READ_AT_LEAST_EVERY = Duration.ofMinutes(1);
  /** Messages sent over one outbound connection at most, before it is closed and a new one opened. */
  private static final int REUSE_LIMIT = 100;

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
  private final LinkedHashMap<String, LinkedHashMap<String, List<Queue.Rcpt>>> pending = new LinkedHashMap<>();
  /** Recipients pending or in flight. */
  private final Set<Long> known = new HashSet<>();
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
  /** Signatures of the messages delivered last, by queue entry id ({@link #signature}). */
  private final Map<Long, java.util.Optional<String>> signatures = java.util.Collections.synchronizedMap(
      new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, java.util.Optional<String>> eldest) {
          return size() > 256;
        }
      });

  /** The outcome for one recipient of one attempt. */
  record Result(Kind kind, String status, String detail, String remoteMta) {
    enum Kind { DELIVERED, TEMPORARY, PERMANENT }

    static Result of(SmtpClient.Response r, String mta) {
      Kind k = r.code() < 400 ? Kind.DELIVERED : r.code() < 500 ? Kind.TEMPORARY : Kind.PERMANENT;
      return new Result(k, statusOf(r), r.text(), mta);
    }

    static Result temporary(String status, String detail, String mta) {
      return new Result(Kind.TEMPORARY, status, detail, mta);
    }

    static Result permanent(String status, String detail, String mta) {
      return new Result(Kind.PERMANENT, status, detail, mta);
    }
  }

  /** The enhanced status code (RFC 3463) of a reply, or one made from its basic code. */
  static String statusOf(SmtpClient.Response r) {
    String first = r.lines().isEmpty() ? "" : r.lines().getFirst();
    var m = java.util.regex.Pattern.compile("^([245])\\.(\\d{1,3})\\.(\\d{1,3})\\b").matcher(first);
    if (m.find()) {
      return m.group();
    }
    return r.code() < 400 ? "2.0.0" : r.code() < 500 ? "4.0.0" : "5.0.0";
  }

  public DeliveryEngine(ServerConfig config, Queue queue, BlobStore blobs, Directory directory, Acceptance acceptance,
      Dns dns) {
    this.config = config;
    this.dc = config.delivery();
    this.queue = queue;
    this.blobs = blobs;
    this.directory = directory;
    this.acceptance = acceptance.via(this);
    this.dns = dns;
    this.dkim = new Dkim(config.dataDir(), dc.dkimSelector());
    this.smarthostTls = dc.smarthost().isEmpty() ? null : SmtpClient.verifying(dc.smarthostCa());
    Gauge.builder("darwinmail.queue.recipients", queued, AtomicLong::get).register(Metrics.globalRegistry);
  }

  public Queue queue() {
    return queue;
  }

  /** Queue entries (by id) not to attempt: the abuse guard's held mail of blocked senders (issue 6). */
  private volatile java.util.function.LongPredicate held = id -> false;

  public void holdWhen(java.util.function.LongPredicate isHeld) {
    this.held = isHeld;
  }

  public Dkim dkim() {
    return dkim;
  }

  // ---- Outbound ---------------------------------------------------------------------------------------------

  @Override
  public void enqueue(String sender, List<String> recipients, BlobRef blob, boolean smtputf8, String account) {
    List<Queue.Rcpt> rows;
    handOver.readLock().lock();
    try {
      try (BlobStore.Claim claim = blobs.claim(List.of(blob.hash()))) { // kept from the collector until queued
        rows = queue.add(sender == null ? "" : sender, recipients, blob.hash(), blob.size(), smtputf8, account);
      }
      synchronized (lock) {
        rows.forEach(this::addPending);
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
    running = true;
    queued.set(queue.size());
    scheduler = Thread.ofVirtual().name("delivery-scheduler").start(this::schedule);
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

  private static String groupKey(Queue.Rcpt r) {
    return r.messageId() + " " + r.domain();
  }

  /** Adds a due recipient the schedule does not know yet (holding lock). */
  private void addPending(Queue.Rcpt r) {
    if (known.add(r.id())) {
      pending.computeIfAbsent(destination(r), k -> new LinkedHashMap<>())
          .computeIfAbsent(groupKey(r), k -> new ArrayList<>()).add(r);
    }
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
      List<Queue.Rcpt> due = List.of();
      Instant later = null;
      boolean read = false;
      try {
        due = queue.due(now, READ_LIMIT);
        later = queue.nextDueAfter(now);
        read = true;
      } finally {
        synchronized (lock) {
          reading = false;
          for (Queue.Rcpt r : due) {
            if (!settled.contains(r.id())) {
              addPending(r);
            }
          }
          settled.clear();
          if (read) {
            moreDue = due.size() >= READ_LIMIT;
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
    synchronized (lock) {
      var dests = pending.entrySet().iterator();
      while (dests.hasNext() && active < dc.concurrency()) {
        var d = dests.next();
        String dest = d.getKey();
        var groups = d.getValue().values().iterator();
        while (groups.hasNext() && active < dc.concurrency()
            && perDestination.getOrDefault(dest, 0) < dc.perDestination()) {
          List<Queue.Rcpt> g = groups.next();
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
      return Math.max(1, Duration.between(Instant.now(), next).toMillis());
    }
  }

  /** Concurrency limits count per destination: the recipient domain, or the smarthost for all. */
  private String destination(Queue.Rcpt r) {
    return dc.smarthost().isEmpty() ? r.domain() : "smarthost";
  }

  /**
   * One group's attempt on its own virtual thread; then, on the same SMTP connection, the next pending groups to
   * the same destination (as Postfix's connection cache does), so a backlog to one domain does not pay a new
   * connection, greeting, EHLO and TLS handshake per message. Frees its slot and wakes the schedule when it ends.
   */
  private void run(List<Queue.Rcpt> first, String dest) {
    Link link = null;
    try {
      List<Queue.Rcpt> g = first;
      for (int n = 1; g != null; n++) {
        try {
          link = deliverGroup(g, link);
        } catch (RuntimeException e) {
          log.error("delivery of queue entry {} failed", g.getFirst().messageId(), e);
          link = closed(link);
        } finally {
          synchronized (lock) {
            for (Queue.Rcpt r : g) {
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
      closed(link);
      synchronized (lock) {
        active--;
        perDestination.merge(dest, -1, Integer::sum);
        wake = true;
        lock.notifyAll();
      }
    }
  }

  /** Takes the oldest pending group to {@code dest}, or null. */
  private List<Queue.Rcpt> nextPending(String dest) {
    synchronized (lock) {
      if (!running) {
        return null;
      }
      var groups = pending.get(dest);
      if (groups == null) {
        return null;
      }
      var it = groups.values().iterator();
      List<Queue.Rcpt> g = it.next();
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
    synchronized (lock) {
      while (active > 0 && System.nanoTime() < deadline) {
        try {
          lock.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
  }

  // ---- one group: one message, one destination --------------------------------------------------------------

  /**
   * Attempts one group, on {@code link} when it is a connection kept open to the same destination; returns the
   * connection to keep for the next group, or null.
   */
  private Link deliverGroup(List<Queue.Rcpt> rcpts, Link link) {
    long messageId = rcpts.getFirst().messageId();
    if (held.test(messageId)) {
      // Its sender is blocked: out of the schedule until "darwinmail sender unblock" makes it due again.
      queue.deferred(rcpts.stream().map(Queue.Rcpt::id).toList(), Instant.now().plus(Duration.ofDays(3650)),
          "held: the sender is blocked");
      return link;
    }
    Queue.Entry m = queue.message(messageId).orElse(null);
    if (m == null) {
      return link; // deleted meanwhile
    }
    Map<Long, Result> results;
    if (!blobs.exists(m.blob())) {
      log.error("queue entry {}: body {} is missing", messageId, m.blob());
      results = all(rcpts, Result.permanent("5.3.0", "the message body was lost from the queue", null));
    } else {
      try {
        Outcome o = transfer(m, rcpts.getFirst().domain(), rcpts, link);
        results = o.results();
        link = o.link();
      } catch (RuntimeException e) {
        log.error("queue entry {}: delivery failed unexpectedly", messageId, e);
        results = all(rcpts, Result.temporary("4.3.0", "internal error: " + e, null));
        link = closed(link);
      }
    }
    apply(m, rcpts, results);
    return link;
  }

  private static Map<Long, Result> all(List<Queue.Rcpt> rcpts, Result r) {
    Map<Long, Result> out = new LinkedHashMap<>();
    rcpts.forEach(x -> out.put(x.id(), r));
    return out;
  }

  /** Records the results: delivered and bounced recipients leave the queue, the others wait their next turn. */
  private void apply(Queue.Entry m, List<Queue.Rcpt> rcpts, Map<Long, Result> results) {
    Instant now = Instant.now();
    boolean expired = now.isAfter(m.created().plusSeconds(dc.lifetimeSeconds()));
    List<Long> done = new ArrayList<>();
    List<Dsn.Failure> failures = new ArrayList<>();
    List<Queue.Rcpt> later = new ArrayList<>();
    for (Queue.Rcpt r : rcpts) {
      Result res = results.get(r.id());
      switch (res.kind()) {
        case DELIVERED -> {
          done.add(r.id());
          delivered.increment();
          log.info("queue entry {}: delivered to <{}> via {}: {}", m.id(), r.recipient(), res.remoteMta(),
              res.detail());
        }
        case PERMANENT -> {
          done.add(r.id());
          failures.add(new Dsn.Failure(r.recipient(), res.status(), res.detail(), res.remoteMta()));
          bounced.increment();
          log.info("queue entry {}: <{}> failed: {}", m.id(), r.recipient(), res.detail());
        }
        case TEMPORARY -> {
          if (expired) {
            done.add(r.id());
            String status = res.status().startsWith("4") ? "5" + res.status().substring(1) : res.status();
            failures.add(new Dsn.Failure(r.recipient(), status.equals("5.0.0") ? "5.4.7" : status,
                "delivery time expired after " + (r.attempts() + 1) + " attempts; last error: " + res.detail(),
                res.remoteMta()));
            bounced.increment();
            log.info("queue entry {}: <{}> expired: {}", m.id(), r.recipient(), res.detail());
          } else {
            later.add(r);
          }
        }
      }
    }
    if (!failures.isEmpty()) {
      notifySender(m, Dsn.Action.FAILED, failures);
    }
    for (Queue.Rcpt r : later) {
      Result res = results.get(r.id());
      Instant next = now.plusSeconds(dc.retryAfter(r.attempts() + 1));
      queue.deferred(List.of(r.id()), next, res.detail());
      deferredUntil(next);
      deferred.increment();
      log.info("queue entry {}: <{}> deferred until {}: {}", m.id(), r.recipient(), next, res.detail());
    }
    if (!later.isEmpty() && !m.warned() && dc.delayWarningSeconds() > 0
        && now.isAfter(m.created().plusSeconds(dc.delayWarningSeconds()))) {
      List<Dsn.Failure> delayed = new ArrayList<>();
      for (Queue.Rcpt r : later) {
        Result res = results.get(r.id());
        delayed.add(new Dsn.Failure(r.recipient(), res.status(), res.detail(), res.remoteMta()));
      }
      queue.markWarned(m.id());
      notifySender(m, Dsn.Action.DELAYED, delayed);
    }
    queue.remove(m.id(), done);
    queued.addAndGet(-done.size());
  }

  /**
   * Sends a DSN to the envelope sender: into the INBOX when it is local, through the queue (null sender) when it is
   * remote; never for the null sender (RFC 5321 §6.1, RFC 3464 §2).
   */
  private void notifySender(Queue.Entry m, Dsn.Action action, List<Dsn.Failure> failures) {
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

  // ---- routing and the SMTP transaction ---------------------------------------------------------------------

  /** A host to try: its name (for TLS and the DSN) and port. */
  private record Target(String host, int port, boolean smarthost) {}

  /** An open SMTP connection after EHLO (and STARTTLS and AUTH when used), ready for a transaction. */
  private record Link(SmtpClient client, String mta, Map<String, String> caps) {}

  /** One message's results, and the connection to keep for the next message to the same destination, or null. */
  private record Outcome(Map<Long, Result> results, Link link) {}

  /** Ends a connection politely (QUIT) and returns null. */
  private static Link closed(Link link) {
    if (link != null) {
      link.client().quit();
      link.client().close();
    }
    return null;
  }

  private Outcome transfer(Queue.Entry m, String domain, List<Queue.Rcpt> rcpts, Link reuse) {
    if (reuse != null) {
      String dkimHeader = signature(m);
      try {
        Outcome o = transaction(reuse, m, rcpts, dkimHeader);
        boolean closing = o.results().values().stream().anyMatch(r -> r.detail() != null
            && r.detail().startsWith("421"))
            && o.results().values().stream().noneMatch(r -> r.kind() == Result.Kind.DELIVERED);
        if (!closing) {
          return o;
        }
        closed(o.link());
        // 421 (RFC 5321 §3.8): the server is closing this connection, say after its own per-connection limit.
        log.info("queue entry {}: {} closed the connection kept from the previous message, opening a new one",
            m.id(), reuse.mta());
      } catch (IOException e) {
        // The server may close a connection between two messages (RFC 5321 §4.1.1.10 lets it): open a new one.
        log.info("queue entry {}: the connection to {} ended ({}), opening a new one", m.id(), reuse.mta(),
            describe(e));
        reuse.client().close();
      }
    }
    List<Target> targets = new ArrayList<>();
    if (!dc.smarthost().isEmpty()) {
      HostPort hp = HostPort.parse("delivery.smarthost", dc.smarthost());
      targets.add(new Target(hp.host(), hp.port(), true));
    } else {
      switch (dns.route(domain)) {
        case Dns.Route.NullMx n -> {
          return new Outcome(all(rcpts, Result.permanent("5.1.10", "550 5.1.10 " + domain
              + " does not accept mail (null MX, RFC 7505)", null)), null);
        }
        case Dns.Route.NoSuchDomain n -> {
          return new Outcome(all(rcpts, Result.permanent("5.1.2", "550 5.1.2 the domain " + domain
              + " does not exist or has no mail server", null)), null);
        }
        case Dns.Route.Temporary t -> {
          return new Outcome(all(rcpts, Result.temporary("4.4.3", "DNS: " + t.reason(), null)), null);
        }
        case Dns.Route.Hosts h -> h.hosts().forEach(x -> targets.add(new Target(x, dc.port(), false)));
      }
    }
    String dkimHeader = signature(m);
    String lastError = "no address for any mail server of " + domain;
    String lastStatus = "4.4.4";
    for (Target t : targets) {
      List<InetAddress> addrs;
      try {
        addrs = resolve(t);
      } catch (IOException e) {
        lastError = describe(e);
        continue;
      }
      for (InetAddress a : addrs) {
        try {
          try {
            return attempt(m, rcpts, t, a, dkimHeader, true);
          } catch (javax.net.ssl.SSLException e) {
            if (t.smarthost()) {
              throw e;
            }
            // Opportunistic TLS (RFC 3207 §4.1, RFC 7435): a failed handshake is retried in clear text.
            log.info("queue entry {}: TLS with {} failed ({}), retrying without", m.id(), t.host(), e.getMessage());
            return attempt(m, rcpts, t, a, dkimHeader, false);
          }
        } catch (IOException e) {
          lastError = t.host() + " [" + a.getHostAddress() + "]: " + describe(e);
          lastStatus = "4.4.1";
          log.info("queue entry {}: {}", m.id(), lastError);
        }
      }
    }
    return new Outcome(all(rcpts, Result.temporary(lastStatus, lastError, null)), null);
  }

  /** A new connection to one address and one transaction on it. */
  private Outcome attempt(Queue.Entry m, List<Queue.Rcpt> rcpts, Target t, InetAddress a, String dkimHeader,
      boolean tls) throws IOException {
    Link link = open(t, a, tls);
    try {
      return transaction(link, m, rcpts, dkimHeader);
    } catch (IOException | RuntimeException e) {
      link.client().close();
      throw e;
    }
  }

  private static String describe(IOException e) {
    return org.darwinmail.errors.Errors.describe(e);
  }

  private List<InetAddress> resolve(Target t) throws IOException {
    if (t.host().matches("[0-9.]+") || t.host().contains(":")) {
      return List.of(InetAddress.getByName(t.host()));
    }
    return switch (dns.addresses(t.host())) {
      case Dns.Answer.Found<InetAddress> f when !f.values().isEmpty() -> f.values();
      case Dns.Answer.Found<InetAddress> f -> throw new IOException(t.host() + " has no address");
      case Dns.Answer.NoSuchDomain<InetAddress> n -> throw new IOException(t.host() + " does not exist");
      case Dns.Answer.Temporary<InetAddress> tmp -> throw new IOException(tmp.reason());
    };
  }

  /**
   * The DKIM-Signature for this message, or null (not ours, signing off, or a failure: then unsigned). A message
   * going to several destinations is signed once (an RSA-2048 signature costs about 1.5 ms of CPU here): the
   * latest signatures are kept by queue entry.
   */
  private String signature(Queue.Entry m) {
    if (!dc.dkim()) {
      return null;
    }
    java.util.Optional<String> known = signatures.get(m.id());
    if (known != null) {
      return known.orElse(null);
    }
    try (InputStream in = blobs.open(m.blob())) {
      String header = dkim.sign(in, directory::isLocalDomain);
      signatures.put(m.id(), java.util.Optional.ofNullable(header));
      return header;
    } catch (IOException | RuntimeException e) {
      log.warn("queue entry {}: not DKIM-signed: {}", m.id(), e.toString());
      return null;
    }
  }

  /**
   * Connects to one address and greets it: EHLO, STARTTLS when offered (required towards the smarthost), AUTH
   * towards the smarthost when configured. Throws when this host cannot be used (the next one is tried).
   */
  private Link open(Target t, InetAddress a, boolean tls) throws IOException {
    boolean implicit = t.smarthost() && dc.smarthostTls().equals("implicit");
    Duration connect = Duration.ofSeconds(dc.connectTimeoutSeconds());
    String mta = t.host() + " [" + a.getHostAddress() + "]";
    SmtpClient c;
    try {
      c = SmtpClient.connect(a, t.port(), t.host(), connect, implicit,
          t.smarthost() ? smarthostTls : SmtpClient.OPPORTUNISTIC);
    } catch (javax.net.ssl.SSLHandshakeException e) {
      throw untrusted(mta, e);
    }
    try {
      SmtpClient.Response greet = c.read(SmtpClient.GREETING_TIMEOUT);
      if (greet.code() != 220) {
        throw new SmtpClient.HostException(mta + " greeted with " + greet.text());
      }
      Map<String, String> caps = c.ehlo(config.hostname());
      if (tls && !c.isTls() && caps.containsKey("STARTTLS")) {
        c.send("STARTTLS");
        c.flush();
        SmtpClient.Response r = c.read(SmtpClient.MAIL_TIMEOUT);
        if (r.code() == 220) {
          try {
            c.startTls();
          } catch (javax.net.ssl.SSLHandshakeException e) {
            throw t.smarthost() ? untrusted(mta, e) : e;
          }
          caps = c.ehlo(config.hostname());
        } else if (t.smarthost()) {
          throw new SmtpClient.HostException(mta + " refused STARTTLS: " + r.text());
        }
      }
      if (t.smarthost() && !c.isTls()) {
        throw new SmtpClient.HostException(mta + " does not offer TLS, which the smarthost setting requires");
      }
      if (t.smarthost() && !dc.smarthostUser().isEmpty()) {
        // RFC 4954 with PLAIN (RFC 4616), over TLS only.
        String token = Base64.getEncoder().encodeToString(("\0" + dc.smarthostUser() + "\0" + dc.smarthostPassword())
            .getBytes(StandardCharsets.UTF_8));
        c.send("AUTH PLAIN " + token);
        c.flush();
        SmtpClient.Response r = c.read(SmtpClient.MAIL_TIMEOUT);
        if (r.code() != 235) {
          throw new SmtpClient.HostException(mta + " refused our login: " + r.text());
        }
      }
      return new Link(c, mta, caps);
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /** A smarthost whose certificate does not verify: not used (it would receive our password), with the reason. */
  private static IOException untrusted(String mta, javax.net.ssl.SSLHandshakeException e) {
    return new SmtpClient.HostException(mta + ": its TLS certificate is not trusted (" + e.getMessage()
        + "); delivery.smarthost_ca names a CA or certificate to trust");
  }

  /**
   * One SMTP transaction (RFC 5321 §3.3) on an open connection, with PIPELINING (RFC 2920) when offered. Returns a
   * result per recipient, and the connection when it may carry the next message: the transaction ended with the
   * server's final reply and the server did not announce that it closes (421). Throws when the connection failed.
   */
  private Outcome transaction(Link link, Queue.Entry m, List<Queue.Rcpt> rcpts, String dkimHeader)
      throws IOException {
    SmtpClient c = link.client();
    String mta = link.mta();
    Map<String, String> caps = link.caps();
    if (m.smtputf8() && !caps.containsKey("SMTPUTF8")) {
      return new Outcome(all(rcpts, Result.permanent("5.6.7", "550 5.6.7 " + mta + " does not support SMTPUTF8,"
          + " which this message needs for its international addresses (RFC 6531 §3.2)", mta)), link);
    }
    long size = m.size() + (dkimHeader == null ? 0 : dkimHeader.length());
    long limit = parseLong(caps.get("SIZE"));
    if (limit > 0 && size > limit) {
      return new Outcome(all(rcpts, Result.permanent("5.3.4", "552 5.3.4 the message (" + size + " bytes) is"
          + " larger than " + mta + " accepts (" + limit + " bytes, RFC 1870)", mta)), link);
    }
    StringBuilder mail = new StringBuilder("MAIL FROM:<").append(m.sender()).append(">");
    if (caps.containsKey("SIZE")) {
      mail.append(" SIZE=").append(size);
    }
    if (caps.containsKey("8BITMIME") && eightBit(m)) {
      mail.append(" BODY=8BITMIME");
    }
    if (m.smtputf8()) {
      mail.append(" SMTPUTF8");
    }
    boolean pipelining = caps.containsKey("PIPELINING");
    Map<Long, Result> results = new LinkedHashMap<>();
    c.send(mail.toString());
    SmtpClient.Response mailReply = null;
    if (!pipelining) {
      c.flush();
      mailReply = c.read(SmtpClient.MAIL_TIMEOUT);
      if (!mailReply.positive()) {
        return new Outcome(all(rcpts, Result.of(mailReply, mta)), closed(link));
      }
    }
    List<Queue.Rcpt> accepted = new ArrayList<>();
    for (Queue.Rcpt r : rcpts) {
      c.send("RCPT TO:<" + r.recipient() + ">");
      if (!pipelining) {
        c.flush();
        SmtpClient.Response rr = c.read(SmtpClient.RCPT_TIMEOUT);
        if (rr.positive()) {
          accepted.add(r);
        } else {
          results.put(r.id(), Result.of(rr, mta));
        }
      }
    }
    if (pipelining) {
      c.send("DATA");
      c.flush();
      mailReply = c.read(SmtpClient.MAIL_TIMEOUT);
      for (Queue.Rcpt r : rcpts) {
        SmtpClient.Response rr = c.read(SmtpClient.RCPT_TIMEOUT);
        if (!mailReply.positive()) {
          results.put(r.id(), Result.of(mailReply, mta));
        } else if (rr.positive()) {
          accepted.add(r);
        } else {
          results.put(r.id(), Result.of(rr, mta));
        }
      }
    }
    SmtpClient.Response dataReply;
    if (pipelining) {
      dataReply = c.read(SmtpClient.DATA_TIMEOUT);
    } else if (!accepted.isEmpty()) {
      c.send("DATA");
      c.flush();
      dataReply = c.read(SmtpClient.DATA_TIMEOUT);
    } else {
      dataReply = null;
    }
    if (accepted.isEmpty()) {
      if (dataReply != null && dataReply.code() == 354) {
        c.raw().write(".\r\n".getBytes(StandardCharsets.US_ASCII)); // RFC 2920 §3.1: send an empty message
        c.flush();
        c.read(SmtpClient.FINAL_TIMEOUT);
      }
      return new Outcome(results, closed(link));
    }
    if (dataReply.code() != 354) {
      for (Queue.Rcpt r : accepted) {
        results.put(r.id(), Result.of(dataReply, mta));
      }
      return new Outcome(results, closed(link));
    }
    sendBody(c, m, dkimHeader);
    SmtpClient.Response fin = c.read(SmtpClient.FINAL_TIMEOUT);
    for (Queue.Rcpt r : accepted) {
      results.put(r.id(), Result.of(fin, mta));
    }
    return new Outcome(results, fin.code() == 421 ? closed(link) : link);
  }

  private static long parseLong(String s) {
    if (s == null || s.isEmpty() || s.length() > 18 || !s.chars().allMatch(Character::isDigit)) {
      return 0;
    }
    return Long.parseLong(s);
  }

  private boolean eightBit(Queue.Entry m) {
    try (InputStream in = blobs.open(m.blob())) {
      byte[] buf = new byte[64 * 1024];
      int n;
      while ((n = in.read(buf)) > 0) {
        for (int i = 0; i < n; i++) {
          if (buf[i] < 0) {
            return true;
          }
        }
      }
    } catch (IOException e) {
      return true;
    }
    return false;
  }

  /** The message with dot-stuffing (RFC 5321 §4.5.2), CRLF line ends, then "." (§4.1.1.4). */
  private void sendBody(SmtpClient c, Queue.Entry m, String dkimHeader) throws IOException {
    OutputStream out = c.raw();
    InputStream head = new java.io.ByteArrayInputStream(dkimHeader == null ? new byte[0]
        : dkimHeader.getBytes(StandardCharsets.UTF_8));
    try (InputStream in = new SequenceInputStream(head, blobs.open(m.blob()))) {
      byte[] buf = new byte[64 * 1024];
      boolean lineStart = true;
      int prev = -1;
      int n;
      while ((n = in.read(buf)) > 0) {
        for (int i = 0; i < n; i++) {
          byte b = buf[i];
          if (lineStart && b == '.') {
            out.write('.');
          }
          if (b == '\n' && prev != '\r') {
            out.write('\r');
          }
          out.write(b);
          lineStart = b == '\n';
          prev = b;
        }
      }
      if (!lineStart) {
        out.write('\r');
        out.write('\n');
      }
    }
    out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
    c.flush();
  }
}
