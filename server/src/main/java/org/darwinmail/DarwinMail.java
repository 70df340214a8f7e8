package org.darwinmail;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.darwinmail.config.HostPort;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.delivery.Acceptance;
import org.darwinmail.delivery.DeliveryEngine;
import org.darwinmail.delivery.LocalDelivery;
import org.darwinmail.guard.ConnectionLimits;
import org.darwinmail.guard.Guard;
import org.darwinmail.guard.HarvestGuard;
import org.darwinmail.guard.InboundAuth;
import org.darwinmail.guard.LoginGuard;
import org.darwinmail.guard.QueueHold;
import org.darwinmail.guard.SendGuard;
import org.darwinmail.net.NetServer;
import org.darwinmail.net.StartGate;
import org.darwinmail.net.Tls;
import org.darwinmail.pop3.MaildropLocks;
import org.darwinmail.pop3.Pop3Context;
import org.darwinmail.pop3.Pop3Server;
import org.darwinmail.smtp.SmtpContext;
import org.darwinmail.smtp.SmtpServer;
import org.darwinmail.smtp.SmtpSession;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.DataDir;
import org.darwinmail.store.Database;
import org.darwinmail.store.Directory;
import org.darwinmail.store.MailStore;
import org.darwinmail.store.ClusterEvents;
import org.darwinmail.store.MailboxEvents;
import org.darwinmail.store.PostgresDatabase;
import org.darwinmail.store.QueueRepository;
import org.darwinmail.store.SqlBlobCandidateRepository;
import org.darwinmail.store.SqlDirectoryRepository;
import org.darwinmail.store.SqlMessageRepository;
import org.darwinmail.store.SqlQueueRepository;
import org.darwinmail.store.SqlRunner;
import org.darwinmail.store.SqlSenderRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole server, wired by hand in one place: storage, then the mail core, then the listeners. Tests start it
 * on port 0 with a temporary data directory; {@code darwinmail serve} runs it until SIGTERM.
 */
public final class DarwinMail implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DarwinMail.class);
  private static final String CARRIERS = "jdk.virtualThreadScheduler.parallelism";

  static {
    prepareJvm();
  }

  /**
   * Settings the JVM reads once, before the first virtual thread. A virtual thread keeps its carrier for as long as
   * it computes (there is no time slicing), and the JDK's default is one carrier per core: on the 2-vCPU appliance
   * two long commands (a search of a large mailbox) held both carriers and every other session waited, logins and
   * SMTP included (issue 23). Four carriers per core, at least 8, let the kernel share the cores between them. An
   * explicit {@code -D} setting wins. Called first by the command line and by this class's initialisation.
   */
  public static void prepareJvm() {
    if (System.getProperty(CARRIERS) == null) {
      System.setProperty(CARRIERS, Integer.toString(Math.max(8, 4 * Runtime.getRuntime().availableProcessors())));
    }
  }

  /**
   * The age below which the start-up sweep leaves an unreferenced blob alone when other nodes share the store: far
   * longer than any node takes from a body's upload to its row's commit (a claim, one transaction).
   */
  static final Duration SHARED_SWEEP_AGE = Duration.ofMinutes(10);

  private final ServerConfig config;
  private volatile Services services;
  private final NetServer net = new NetServer();
  private final Map<String, InetSocketAddress> bound = new java.util.LinkedHashMap<>();
  private final ConnectionLimits limits;
  private org.darwinmail.store.BlobCollector collector;
  private org.darwinmail.store.BackupScheduler backups;
  private Thread sweep;
  /** POP3's maildrop locks as every node sees them (PostgreSQL's advisory locks; none to share on Derby). */
  private org.darwinmail.store.ClusterLocks clusterLocks = org.darwinmail.store.ClusterLocks.LOCAL;
  private Tls tls;
  /** The TLS context: read on a thread of its own while the store opens, or made after it (a first start). */
  private final java.util.concurrent.CompletableFuture<Tls> tlsLoading = new java.util.concurrent.CompletableFuture<>();
  // What the listeners' sessions need, given once the store is open (connections accepted before wait for it).
  private final StartGate<SmtpContext> smtpGate = new StartGate<>();
  private final StartGate<Pop3Context> pop3Gate = new StartGate<>();
  private final StartGate<org.darwinmail.imap.ImapContext> imapGate = new StartGate<>();

  /** How long a failed start waits for the connections it greeted to get their closing line. */
  static final Duration FAILED_START_GOODBYE = Duration.ofSeconds(2);

  /** Run in {@link #start} once the listeners are bound, before the store opens (tests hold the start there). */
  static volatile java.util.function.Consumer<DarwinMail> beforeStore = m -> {};

  /** {@link DataDir#markServer}'s lock, held from the start's first instant until close (null: none taken). */
  private java.nio.channels.FileLock mark;

  private DarwinMail(ServerConfig config) {
    this.config = config;
    this.limits = new ConnectionLimits(config.guard());
  }

  /**
   * Starts the server (ARCHITECTURE.md, "Start-up"): binds every configured mail listener first (a connection is
   * greeted at once, and its first command waits for the store), then opens the store (migrating it), gives the
   * listeners their sessions, starts the delivery engine and the blob collector, and sweeps orphan blobs on a
   * thread of its own. When the store does not open, the connections greeted meanwhile get their protocol's closing
   * line and this throws.
   */
  public static DarwinMail start(ServerConfig config) {
    // The sweep's cutoff: nothing written after this instant is an orphan of an earlier run.
    java.time.Instant started = java.time.Instant.now();
    // Before the listeners: a data directory this release cannot read is refused with nothing written (a restore
    // a crash interrupted is finished first, as Services.open does), then the directory is marked as having a
    // server, so that a command typed from now on waits for it rather than opening the database itself.
    org.darwinmail.store.RestoreReplace.recover(config.dataDir());
    org.darwinmail.store.DataFormat.checkBeforeStart(config.dataDir());
    java.nio.channels.FileLock mark = DataDir.of(config.dataDir()).markServer();
    DarwinMail m = new DarwinMail(config);
    m.mark = mark;
    // Issue 22: the TLS context (reading the certificate and key, the JDK's TLS classes) is made on a thread of its
    // own while this one opens the store (Derby's boot and the migrations check). Only when the files are there: a
    // first start generates them, after the store accepted the data directory.
    boolean tlsEarly = Tls.readyToLoad(config.tls(), config.dataDir());
    if (tlsEarly) {
      Thread.ofPlatform().name("tls-load").daemon().start(() -> {
        try {
          m.tlsLoading.complete(loadTls(config));
        } catch (Throwable e) {
          m.tlsLoading.completeExceptionally(e);
        }
      });
    }
    Services s;
    try {
      m.listen();
      beforeStore.accept(m);
      s = Services.open(config, m.limits);
    } catch (RuntimeException e) {
      m.failStart(e);
      throw e;
    }
    m.services = s;
    s.blobs().capacity().registerMetrics();
    try {
      if (s.db().shared()) {
        // Keys this node has in dkim/ and the database lacks (a data directory moved by `store migrate`, keys an
        // operator copied by hand) are claimed there; where the database has one, its key replaces the file's.
        var claimed = s.delivery().dkim().claimLocalKeys();
        if (!claimed.isEmpty()) {
          log.info("DKIM keys of {} domain(s) in the data directory checked against the shared database", claimed.size());
        }
      }
      if (!tlsEarly) {
        m.tlsLoading.complete(loadTls(config));
      }
      m.openSessions();
      // Scheduled backups ([backup]): off unless a schedule is set; their last outcome is readable either way.
      m.backups = org.darwinmail.store.BackupScheduler.start(config.backup().plan(config.dataDir()), config.dataDir(),
          s.db(), s.mail(), s.blobs());
      m.collector = org.darwinmail.store.BlobCollector.start(new SqlBlobCandidateRepository(s.db()), s.blobs(),
          s::blobReferenced);
      // Every blob written before this process started that no row refers to is an orphan of a crash; on
      // PostgreSQL other nodes may be between a blob's upload and its row's commit: only what is older than that.
      // Swept on a thread while mail is delivered: through the collector's claim-protected path (BlobStore.sweep).
      java.time.Instant cutoff = s.db().shared() ? started.minus(SHARED_SWEEP_AGE) : started;
      m.sweep = Thread.ofPlatform().name("blob-sweep").daemon().start(() -> s.blobs().sweep(s::blobReferenced, s::blobsReferenced, cutoff));
    } catch (RuntimeException e) {
      m.failStart(e);
      m.close();
      throw e;
    }
    log.info("Darwin Mail started as {} with data in {}", config.hostname(), config.dataDir());
    return m;
  }

  /** A start that failed: the connections greeted meanwhile get their closing line, then the listeners close. */
  private void failStart(RuntimeException e) {
    tlsLoading.cancel(false);
    long deadline = System.nanoTime() + FAILED_START_GOODBYE.toNanos();
    for (StartGate<?> g : List.of(smtpGate, pop3Gate, imapGate)) {
      g.fail(e, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    }
    if (services == null) {
      net.close();
      unmark();
    }
  }

  private void unmark() {
    if (mark != null) {
      try {
        mark.channel().close(); // releases the lock
      } catch (java.io.IOException ignored) {
        // the process's end releases it anyway
      }
    }
  }

  /**
   * Binds the mail listeners, with only the configuration: the per-address connection limits in front of each from
   * the first connection; the sessions wait for {@link #openSessions}.
   */
  private void listen() {
    bind("smtp", config.listen().smtp(), new SmtpServer(config, smtpGate, tlsLoading, SmtpSession.Kind.MX));
    bind("submission", config.listen().submission(),
        new SmtpServer(config, smtpGate, tlsLoading, SmtpSession.Kind.SUBMISSION));
    bind("submissions", config.listen().submissions(),
        new SmtpServer(config, smtpGate, tlsLoading, SmtpSession.Kind.SUBMISSIONS));
    bind("pop3", config.listen().pop3(), new Pop3Server(config, pop3Gate, tlsLoading, false));
    bind("pop3s", config.listen().pop3s(), new Pop3Server(config, pop3Gate, tlsLoading, true));
    bind("imap", config.listen().imap(), new org.darwinmail.imap.ImapServer(config, imapGate, tlsLoading, false));
    bind("imaps", config.listen().imaps(), new org.darwinmail.imap.ImapServer(config, imapGate, tlsLoading, true));
  }

  /** The store is open: makes each protocol's context and lets the sessions run (those waiting go on). */
  private void openSessions() {
    try {
      tls = tlsLoading.join();
    } catch (java.util.concurrent.CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
    if (services.db().shared() && config.tls().certFile().isEmpty()) {
      // Several nodes serve the certificate installed through the console or by ACME on any of them.
      tls.share(new org.darwinmail.store.SharedKeys(services.db()), services.cluster());
    }
    // One login attempt for every protocol (and the admin console): ARCHITECTURE.md, "The abuse guard and login throttling".
    var logins = org.darwinmail.guard.Logins.mail(services.directory(), services.logins());
    DeliveryEngine delivery = services.delivery();
    // IMAP URLAUTH (RFC 4467), which SMTP BURL resolves against too (RFC 4468 §5)
    var urlAuth = new org.darwinmail.urlauth.UrlAuth(config.hostname(), services.directory(), services.mail(),
        new org.darwinmail.store.UrlAuthKeys(services.db()), java.time.Clock.systemUTC());
    clusterLocks = org.darwinmail.store.ClusterLocks.open(services.db());
    services.trace().start(); // before the first message: its "queued" events are written behind
    smtpGate.open(new SmtpContext(config, services.directory(), services.blobs(),
        services.acceptance().via(delivery), tls, logins, services.guard(), urlAuth));
    pop3Gate.open(new Pop3Context(config, services.directory(), services.mail(), tls, logins,
        new MaildropLocks(clusterLocks)));
    imapGate.open(new org.darwinmail.imap.ImapContext(config, services.directory(), services.mail(), tls, logins,
        urlAuth));
    // After the sessions: the engine's first queue read (and its release of the previous run's leases) is not
    // needed to accept mail; what is queued before it runs is unleased, due for that first read.
    delivery.start();
  }

  /** The MTA-STS policy's host names (RFC 8461 §3.3) are in the self-signed certificate too. */
  private static Tls loadTls(ServerConfig config) {
    return Tls.load(config.tls(), config.dataDir(), config.hostname(),
        config.mtaSts().domains().stream().map(d -> "mta-sts." + d).toList());
  }

  private void bind(String name, String address, io.netty.channel.ChannelInitializer<io.netty.channel.socket.SocketChannel> init) {
    if (address.isEmpty()) {
      return;
    }
    // The per-address connection limits go in front of every listener's pipeline.
    bound.put(name, net.bind(name, HostPort.parse("listen." + name, address), limits.wrap(name, init)));
  }

  /** The port a listener is bound to (useful with port 0), or -1 when it is off. */
  public int port(String listener) {
    InetSocketAddress a = bound.get(listener);
    return a == null ? -1 : a.getPort();
  }

  /** The outbound queue and its delivery engine (started by start()). */
  public DeliveryEngine delivery() {
    return services.delivery();
  }

  /** The server's TLS context (null before the store opened); the admin listener serves the same certificate. */
  public Tls tls() {
    return tls;
  }

  /** The scheduled backups and the last one's outcome (the control socket's and the admin console's). */
  public org.darwinmail.store.BackupScheduler backups() {
    return backups;
  }

  public Services services() {
    return services;
  }

  public ServerConfig config() {
    return config;
  }

  @Override
  public void close() {
    log.info("Darwin Mail stopping");
    net.close();
    if (sweep != null) {
      services.blobs().stopSweeps(); // it stops at the next blob
      try {
        sweep.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (backups != null) {
      backups.close();
    }
    services.delivery().close();
    if (collector != null) {
      collector.close();
    }
    clusterLocks.close();
    services.close();
    unmark();
  }

  /**
   * Keeps the wiring of the storage and core in one place, for the server and for CLI commands alike: each object
   * is made once, here, in the order of its dependencies (a CLI process never starts the delivery engine).
   */
  public record Services(ServerConfig config, SqlRunner db, BlobStore blobs, MailboxEvents events, MailStore mail,
      QueueRepository queue, Directory directory, LocalDelivery local, Acceptance acceptance,
      DeliveryEngine delivery, LoginGuard logins, Guard guard, ClusterEvents cluster,
      org.darwinmail.delivery.TraceLog trace) implements AutoCloseable {

    public static Services open(ServerConfig config) {
      return open(config, new ConnectionLimits(config.guard()));
    }

    /** With the connection limits the server's listeners use already (they are bound before the store opens). */
    public static Services open(ServerConfig config, ConnectionLimits limits) {
      DataDir dir = DataDir.of(config.dataDir());
      // A `backup restore --replace` a crash interrupted is finished before anything reads the data directory.
      org.darwinmail.store.RestoreReplace.recover(dir.root());
      SqlRunner db = database(config, dir);
      BlobStore blobs;
      try {
        blobs = new BlobStore(dir.blobs(), config.store().diskReserveBytes(),
            blobBackend(config.blobs(), dir, db.shared()));
        // Several nodes: a blob's claim and its collection exclude each other across nodes too (BlobStore); the
        // locks' own connection, outside the pool, opened at the first claim.
        blobs.shareClaims(org.darwinmail.store.ClusterLocks.open(db));
      } catch (RuntimeException e) {
        db.close();
        throw e;
      }
      MailboxEvents events = new MailboxEvents();
      // Opening its intake journal applies what a previous run journaled but did not store, before anything reads.
      // On PostgreSQL there is none: a 250 means the rows are committed there (README, "Running on PostgreSQL").
      MailStore mail = new MailStore(new SqlMessageRepository(db), blobs, events, db.shared() ? null : dir.intake());
      QueueRepository queue = new SqlQueueRepository(db);
      Directory directory = new Directory(new SqlDirectoryRepository(db), mail, config.guard().send().postmaster());
      LocalDelivery local = new LocalDelivery(mail);
      // Where accepted mail goes, and who the postmaster is (ARCHITECTURE.md, "The data path of one message"):
      // local only here; the delivery engine adds its queue (via) for its DSNs and for SMTP.
      // The delivery trace (issue 17): written behind once the server starts it, at once in a CLI process.
      org.darwinmail.delivery.TraceLog trace = new org.darwinmail.delivery.TraceLog(
          new org.darwinmail.store.SqlTraceRepository(db), config.delivery().traceRetentionDays(),
          config.delivery().traceMaxRows(), db.shared() ? () -> true
              : () -> blobs.capacity().freeBytes() >= org.darwinmail.delivery.TraceLog.ROOM && !blobs.capacity().full());
      Acceptance acceptance = new Acceptance(config, directory, blobs, local, null).tracing(trace);
      // The abuse guard holds the queued mail of blocked senders and releases it on unblock (whoever unblocks then
      // wakes the engine: `darwinmail sender unblock`, as `queue retry` does).
      SendGuard sends = new SendGuard(config, new SqlSenderRepository(db), directory, acceptance,
          new QueueHold(queue));
      // Asked for every group at every schedule: a lookup of the message only while some account is blocked.
      DeliveryEngine delivery = new DeliveryEngine(config, queue, blobs, directory, acceptance,
          new org.darwinmail.dns.Dns(config.dns()),
          id -> sends.anyHeld() && queue.message(id).map(e -> sends.held(e.account())).orElse(false),
          config.delivery().lease(), new org.darwinmail.store.SqlMtaStsRepository(db));
      if (db.shared()) {
        // Several nodes sign with the same DKIM key per domain and selector: the database's (ARCHITECTURE.md).
        delivery.dkim().share(new org.darwinmail.store.SharedKeys(db));
      }
      Guard guard = new Guard(sends, new HarvestGuard(config.guard()), limits,
          new InboundAuth(config));
      LoginGuard logins = new LoginGuard(config.guard(), java.time.Clock.systemUTC());
      // Other nodes' changes (ARCHITECTURE.md, "The cluster event channel"); on Derby, one node, none to hear.
      ClusterEvents cluster = ClusterEvents.open(db);
      mail.listen(cluster);
      directory.listen(cluster);
      sends.listen(cluster);
      if (db.shared()) {
        sends.countAcrossNodes(); // a burst spread over the nodes is counted as one (table sender_counts)
      }
      logins.share(cluster);
      return new Services(config, db, blobs, events, mail, queue, directory, local, acceptance, delivery, logins,
          guard, cluster, trace);
    }

    /**
     * The store's database ([store] engine): Derby under the data directory, or PostgreSQL shared by several nodes
     * (its password read from password_file here, never logged).
     */
    private static SqlRunner database(ServerConfig config, DataDir dir) {
      var s = config.store();
      if (!s.postgresql()) {
        return Database.open(dir.root());
      }
      return PostgresDatabase.open(dir.root(), s.url(), s.user(), java.nio.file.Path.of(s.passwordFile()),
          s.poolSize());
    }

    /**
     * The backend of [blobs] (null: files in the data directory), after checking that the data directory's blobs
     * are there ({@link org.darwinmail.store.BlobLocation}); for S3, the bucket is listed once, so that a wrong
     * endpoint, bucket or key stops the start in one line rather than failing each delivery.
     */
    private static org.darwinmail.store.BlobBackend blobBackend(org.darwinmail.config.BlobsConfig b, DataDir dir,
        boolean shared) {
      if (!b.s3()) {
        org.darwinmail.store.BlobLocation.check(dir.blobs(), "files");
        return null;
      }
      var settings = blobSettings(b);
      org.darwinmail.store.BlobLocation.check(dir.blobs(), blobLocation(settings));
      org.darwinmail.s3.S3Client client = new org.darwinmail.s3.S3Client(settings);
      try {
        client.list("darwinmail-probe/", null);
      } catch (java.io.IOException e) {
        client.close();
        throw new org.darwinmail.store.StoreException("blobs: cannot list bucket " + b.bucket() + " at "
            + settings.endpoint() + ": " + org.darwinmail.errors.Errors.reason(e), e);
      }
      return new org.darwinmail.store.S3Blobs(client, dir.blobs().resolve("cache"), b.cacheBytes(), shared);
    }

    /** How to reach the bucket of {@code [blobs] backend = "s3"} (its credentials file read). */
    public static org.darwinmail.s3.S3Client.Settings blobSettings(org.darwinmail.config.BlobsConfig b) {
      org.darwinmail.s3.Credentials creds;
      try {
        creds = org.darwinmail.s3.Credentials.read(java.nio.file.Path.of(b.credentialsFile()));
      } catch (java.io.IOException e) {
        throw new org.darwinmail.config.ConfigException("blobs.credentials_file: "
            + org.darwinmail.errors.Errors.describe(e), e);
      }
      return new org.darwinmail.s3.S3Client.Settings(java.net.URI.create(b.endpoint()), b.bucket(),
          b.region(), b.pathStyle(), creds, Duration.ofSeconds(30));
    }

    /** Where a restore puts the bodies for {@code [blobs] backend = "s3"}: that bucket (close it after). */
    public static org.darwinmail.store.Backup.BlobsInto blobsInto(org.darwinmail.config.BlobsConfig b) {
      var settings = blobSettings(b);
      return new org.darwinmail.store.Backup.BlobsInto(new org.darwinmail.s3.S3Client(settings),
          blobLocation(settings));
    }

    /** What {@code blobs/location} records for a bucket ({@link org.darwinmail.store.BlobLocation}). */
    public static String blobLocation(org.darwinmail.s3.S3Client.Settings s) {
      return "s3 " + s.endpoint() + " " + s.bucket();
    }

    /** Does any stored message (or queued item, or journaled message not stored yet) use this blob? */
    public boolean blobReferenced(String hash) {
      return mail.blobReferenced(hash) || queue.blobReferenced(hash)
          || (mail.intake() != null && mail.intake().holds(hash));
    }

    /**
     * The blobs rows refer to whose hash starts with {@code prefix}, two hex digits: what the start's sweep reads
     * per range of the hash indexes instead of asking {@link #blobReferenced} per blob (journaled messages not
     * stored yet are not in it: the sweep asks for each blob it does not find here).
     */
    public java.util.Set<String> blobsReferenced(String prefix) {
      java.util.Set<String> out = new java.util.HashSet<>(mail.blobsReferenced(prefix));
      out.addAll(queue.blobsReferenced(prefix));
      return out;
    }

    @Override
    public void close() {
      delivery.close(); // lets attempts in flight finish; nothing to do when it was never started
      trace.close(); // writes what waits
      if (mail.intake() != null) {
        mail.intake().close(); // applies what is journaled
      }
      blobs.close();
      cluster.close();
      db.close();
    }
  }
}
