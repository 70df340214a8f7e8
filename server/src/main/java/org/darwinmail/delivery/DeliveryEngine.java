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
import org.darwinmail.store.Addresses;
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
  private final LocalDelivery local;
  private final Dns dns;
  private final Dkim dkim;

  private final Object lock = new Object();
  private boolean wake;
  private volatile boolean running;
  private Thread scheduler;
  private final Set<Long> inflight = new HashSet<>();
  /**
   * Recipients whose attempt ended since the schedule last read the queue (guarded by {@code lock}): that read may
   * predate their removal or deferral, so they wait for the next read rather than go out twice.
   */
  private final Set<Long> settled = new HashSet<>();
  private final Map<String, Integer> perDestination = new HashMap<>();
  private int active;

  private final Counter delivered = Metrics.counter("darwinmail.delivery.recipients", "result", "delivered");
  private final Counter deferred = Metrics.counter("darwinmail.delivery.recipients", "result", "deferred");
  private final Counter bounced = Metrics.counter("darwinmail.delivery.recipients", "result", "bounced");
  private final AtomicLong queued = new AtomicLong();

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

  public DeliveryEngine(ServerConfig config, Queue queue, BlobStore blobs, Directory directory, LocalDelivery local,
      Dns dns) {
    this.config = config;
    this.dc = config.delivery();
    this.queue = queue;
    this.blobs = blobs;
    this.directory = directory;
    this.local = local;
    this.dns = dns;
    this.dkim = new Dkim(config.dataDir(), dc.dkimSelector());
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
    long id = queue.add(sender == null ? "" : sender, recipients, blob.hash(), blob.size(), smtputf8, account);
    queued.addAndGet(recipients.size());
    log.info("queued {} for {} recipient(s) from <{}>", id, recipients.size(), sender);
    wake();
  }

  // ---- scheduler --------------------------------------------------------------------------------------------

  public void start() {
    running = true;
    queued.set(queue.size());
    scheduler = Thread.ofVirtual().name("delivery-scheduler").start(this::schedule);
  }

  /** Looks at the queue now (after an enqueue, a finished delivery, or {@code queue retry}). */
  public void wake() {
    synchronized (lock) {
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
        if (!wake && running) {
          try {
            lock.wait(Math.max(waitMs, 10));
          } catch (InterruptedException e) {
            return;
          }
        }
        wake = false;
      }
    }
  }

  /** Starts what may start; returns how long to wait before looking again. */
  private long runDue() {
    Instant now = Instant.now();
    synchronized (lock) {
      settled.clear();
    }
    List<Queue.Rcpt> due = queue.due(now, 2000);
    Map<String, List<Queue.Rcpt>> groups = new LinkedHashMap<>();
    for (Queue.Rcpt r : due) {
      groups.computeIfAbsent(r.messageId() + " " + r.domain(), k -> new ArrayList<>()).add(r);
    }
    boolean blocked = false;
    for (List<Queue.Rcpt> g : groups.values()) {
      if (held.test(g.getFirst().messageId())) {
        // Its sender is blocked: out of the schedule until "darwinmail sender unblock" makes it due again.
        queue.deferred(g.stream().map(Queue.Rcpt::id).toList(), now.plus(java.time.Duration.ofDays(3650)),
            "held: the sender is blocked");
        continue;
      }
      String dest = dc.smarthost().isEmpty() ? g.getFirst().domain() : "smarthost";
      synchronized (lock) {
        if (g.stream().anyMatch(r -> inflight.contains(r.id()) || settled.contains(r.id()))) {
          blocked = true;
          continue;
        }
        if (active >= dc.concurrency()) {
          blocked = true;
          break;
        }
        if (perDestination.getOrDefault(dest, 0) >= dc.perDestination()) {
          blocked = true;
          continue;
        }
        active++;
        perDestination.merge(dest, 1, Integer::sum);
        g.forEach(r -> inflight.add(r.id()));
      }
      Thread.ofVirtual().name("delivery-" + g.getFirst().messageId()).start(() -> {
        try {
          deliverGroup(g);
        } catch (RuntimeException e) {
          log.error("delivery of queue entry {} failed", g.getFirst().messageId(), e);
        } finally {
          synchronized (lock) {
            active--;
            perDestination.merge(dest, -1, Integer::sum);
            g.forEach(r -> {
              inflight.remove(r.id());
              settled.add(r.id());
            });
          }
          wake();
        }
      });
    }
    if (blocked || due.size() >= 2000) {
      return 1000; // woken earlier by each delivery that ends
    }
    Instant next = queue.nextDue();
    if (next == null) {
      return 60_000;
    }
    return Math.min(60_000, Math.max(10, Duration.between(Instant.now(), next).toMillis()));
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

  private void deliverGroup(List<Queue.Rcpt> rcpts) {
    long messageId = rcpts.getFirst().messageId();
    Queue.Entry m = queue.message(messageId).orElse(null);
    if (m == null) {
      return; // deleted meanwhile
    }
    Map<Long, Result> results;
    if (!blobs.exists(m.blob())) {
      log.error("queue entry {}: body {} is missing", messageId, m.blob());
      results = all(rcpts, Result.permanent("5.3.0", "the message body was lost from the queue", null));
    } else {
      try {
        results = transfer(m, rcpts.getFirst().domain(), rcpts);
      } catch (RuntimeException e) {
        log.error("queue entry {}: delivery failed unexpectedly", messageId, e);
        results = all(rcpts, Result.temporary("4.3.0", "internal error: " + e, null));
      }
    }
    apply(m, rcpts, results);
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
    BlobRef dsn;
    try (InputStream original = blobs.open(m.blob()); var w = blobs.create()) {
      byte[] body = Dsn.build(config.hostname(), m.sender(), action, m.created(), failures, original, m.smtputf8());
      w.write(body);
      dsn = w.commit();
    } catch (IOException e) {
      log.error("queue entry {}: cannot write the {} notice", m.id(), action, e);
      return;
    }
    String sender = Addresses.normalize(m.sender());
    if (sender != null && directory.isLocalDomain(Addresses.domainOf(sender))) {
      Directory.Resolution res = directory.resolve(sender);
      if (!res.accounts().isEmpty()) {
        local.deliver(res.accounts(), dsn);
      }
      if (!res.remote().isEmpty()) {
        enqueue("", res.remote(), dsn, m.smtputf8(), null);
      }
      if (res.isEmpty()) {
        log.warn("queue entry {}: the sender <{}> has no mailbox here; notice dropped", m.id(), m.sender());
      }
    } else {
      enqueue("", List.of(m.sender()), dsn, m.smtputf8(), null);
    }
    log.info("queue entry {}: {} notice sent to <{}>", m.id(), action, m.sender());
  }

  // ---- routing and the SMTP transaction ---------------------------------------------------------------------

  /** A host to try: its name (for TLS and the DSN) and port. */
  private record Target(String host, int port, boolean smarthost) {}

  private Map<Long, Result> transfer(Queue.Entry m, String domain, List<Queue.Rcpt> rcpts) {
    List<Target> targets = new ArrayList<>();
    if (!dc.smarthost().isEmpty()) {
      HostPort hp = HostPort.parse("delivery.smarthost", dc.smarthost());
      targets.add(new Target(hp.host(), hp.port(), true));
    } else {
      switch (dns.route(domain)) {
        case Dns.Route.NullMx n -> {
          return all(rcpts, Result.permanent("5.1.10", "550 5.1.10 " + domain
              + " does not accept mail (null MX, RFC 7505)", null));
        }
        case Dns.Route.NoSuchDomain n -> {
          return all(rcpts, Result.permanent("5.1.2", "550 5.1.2 the domain " + domain
              + " does not exist or has no mail server", null));
        }
        case Dns.Route.Temporary t -> {
          return all(rcpts, Result.temporary("4.4.3", "DNS: " + t.reason(), null));
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
        lastError = e.getMessage();
        continue;
      }
      for (InetAddress a : addrs) {
        try {
          try {
            return session(m, rcpts, t, a, dkimHeader, true);
          } catch (javax.net.ssl.SSLException e) {
            if (t.smarthost()) {
              throw e;
            }
            // Opportunistic TLS (RFC 3207 §4.1, RFC 7435): a failed handshake is retried in clear text.
            log.info("queue entry {}: TLS with {} failed ({}), retrying without", m.id(), t.host(), e.getMessage());
            return session(m, rcpts, t, a, dkimHeader, false);
          }
        } catch (IOException e) {
          lastError = t.host() + " [" + a.getHostAddress() + "]: " + describe(e);
          lastStatus = "4.4.1";
          log.info("queue entry {}: {}", m.id(), lastError);
        }
      }
    }
    return all(rcpts, Result.temporary(lastStatus, lastError, null));
  }

  private static String describe(IOException e) {
    String s = e.getMessage();
    if (e instanceof java.net.ConnectException) {
      return "connection refused" + (s == null ? "" : " (" + s + ")");
    }
    if (e instanceof java.net.SocketTimeoutException) {
      return "connection timed out";
    }
    return s == null ? e.getClass().getSimpleName() : s;
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

  /** The DKIM-Signature for this message, or null (not ours, signing off, or a failure: then unsigned). */
  private String signature(Queue.Entry m) {
    if (!dc.dkim()) {
      return null;
    }
    try (InputStream in = blobs.open(m.blob())) {
      return dkim.sign(in, directory::isLocalDomain);
    } catch (IOException | RuntimeException e) {
      log.warn("queue entry {}: not DKIM-signed: {}", m.id(), e.toString());
      return null;
    }
  }

  /**
   * One SMTP transaction with one address (RFC 5321 §3.3), with PIPELINING (RFC 2920) when offered. Returns a
   * result per recipient; throws when this host could not be used at all (the next one is tried).
   */
  private Map<Long, Result> session(Queue.Entry m, List<Queue.Rcpt> rcpts, Target t, InetAddress a, String dkimHeader,
      boolean tls) throws IOException {
    boolean implicit = t.smarthost() && dc.smarthostTls().equals("implicit");
    Duration connect = Duration.ofSeconds(dc.connectTimeoutSeconds());
    String mta = t.host() + " [" + a.getHostAddress() + "]";
    try (SmtpClient c = SmtpClient.connect(a, t.port(), t.host(), connect, implicit)) {
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
          c.startTls();
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
      if (m.smtputf8() && !caps.containsKey("SMTPUTF8")) {
        c.quit();
        return all(rcpts, Result.permanent("5.6.7", "550 5.6.7 " + mta + " does not support SMTPUTF8, which this"
            + " message needs for its international addresses (RFC 6531 §3.2)", mta));
      }
      long size = m.size() + (dkimHeader == null ? 0 : dkimHeader.length());
      long limit = parseLong(caps.get("SIZE"));
      if (limit > 0 && size > limit) {
        c.quit();
        return all(rcpts, Result.permanent("5.3.4", "552 5.3.4 the message (" + size + " bytes) is larger than "
            + mta + " accepts (" + limit + " bytes, RFC 1870)", mta));
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
          c.quit();
          return all(rcpts, Result.of(mailReply, mta));
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
        c.quit();
        return results;
      }
      if (dataReply.code() != 354) {
        for (Queue.Rcpt r : accepted) {
          results.put(r.id(), Result.of(dataReply, mta));
        }
        c.quit();
        return results;
      }
      sendBody(c, m, dkimHeader);
      SmtpClient.Response fin = c.read(SmtpClient.FINAL_TIMEOUT);
      for (Queue.Rcpt r : accepted) {
        results.put(r.id(), Result.of(fin, mta));
      }
      c.quit();
      return results;
    }
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
