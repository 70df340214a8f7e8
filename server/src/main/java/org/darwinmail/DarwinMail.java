package org.darwinmail;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
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
  private final Services services;
  private final NetServer net = new NetServer();
  private final Map<String, InetSocketAddress> bound = new LinkedHashMap<>();
  private org.darwinmail.store.BlobCollector collector;
  private org.darwinmail.store.BackupScheduler backups;
  /** POP3's maildrop locks as every node sees them (PostgreSQL's advisory locks; none to share on Derby). */
  private org.darwinmail.store.ClusterLocks clusterLocks = org.darwinmail.store.ClusterLocks.LOCAL;
  private Tls tls;
  /** The TLS context being made while the store opens (start), or null: listen() makes it. */
  private java.util.concurrent.CompletableFuture<Tls> tlsLoading;

  private DarwinMail(ServerConfig config, Services services) {
    this.config = config;
    this.services = services;
  }

  /**
   * Opens the store (migrating it), sweeps orphan blobs, starts collecting the blobs whose last reference goes, and
   * starts every configured listener.
   */
  public static DarwinMail start(ServerConfig config) {
    // Issue 22: the TLS context (reading the certificate and key, the JDK's TLS classes) is made on a thread of its
    // own while this one opens the store (Derby's boot and the migrations check): on two cores the listeners are
    // ready sooner. Only when the files are there: a first start generates them, after the store accepted the data
    // directory.
    java.util.concurrent.CompletableFuture<Tls> tls = null;
    if (Tls.readyToLoad(config.tls(), config.dataDir())) {
      var loading = tls = new java.util.concurrent.CompletableFuture<>();
      Thread.ofPlatform().name("tls-load").daemon().start(() -> {
        try {
          loading.complete(loadTls(config));
        } catch (Throwable e) {
          loading.completeExceptionally(e);
        }
      });
    }
    Services s;
    try {
      s = Services.open(config);
    } catch (RuntimeException e) {
      if (tls != null) {
        tls.cancel(false);
      }
      throw e;
    }
    DarwinMail m = new DarwinMail(config, s);
    m.tlsLoading = tls;
    s.blobs().capacity().registerMetrics();
    try {
      // Nothing is being delivered yet by this node: every unreferenced blob is an orphan of a crash. On PostgreSQL
      // other nodes may be between a blob's upload and its row's commit: only what is older than that can take.
      s.blobs().sweep(s::blobReferenced, s.db().shared() ? SHARED_SWEEP_AGE : Duration.ZERO);
      m.collector = org.darwinmail.store.BlobCollector.start(new SqlBlobCandidateRepository(s.db()), s.blobs(),
          s::blobReferenced);
      if (s.db().shared()) {
        // Keys this node has in dkim/ and the database lacks (a data directory moved by `store migrate`, keys an
        // operator copied by hand) are claimed there; where the database has one, its key replaces the file's.
        var claimed = s.delivery().dkim().claimLocalKeys();
        if (!claimed.isEmpty()) {
          log.info("DKIM keys of {} domain(s) in the data directory checked against the shared database", claimed.size());
        }
      }
      m.listen();
      // Scheduled backups ([backup]): off unless a schedule is set; their last outcome is readable either way.
      m.backups = org.darwinmail.store.BackupScheduler.start(config.backup().plan(config.dataDir()), config.dataDir(),
          s.db(), s.mail(), s.blobs());
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
    log.info("Darwin Mail started as {} with data in {}", config.hostname(), config.dataDir());
    return m;
  }

  private void listen() {
    if (tlsLoading != null) {
      try {
        tls = tlsLoading.join();
      } catch (java.util.concurrent.CompletionException e) {
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
    } else {
      tls = loadTls(config);
    }
    if (services.db().shared() && config.tls().certFile().isEmpty()) {
      // Several nodes serve the certificate installed through the console or by ACME on any of them.
      tls.share(new org.darwinmail.store.SharedKeys(services.db()), services.cluster());
    }
    // One login attempt for every protocol (and the admin console): ARCHITECTURE.md, "The abuse guard and login throttling".
    var logins = org.darwinmail.guard.Logins.mail(services.directory(), services.logins());
    DeliveryEngine delivery = services.delivery();
    services.trace().start();
    delivery.start();
    // IMAP URLAUTH (RFC 4467), which SMTP BURL resolves against too (RFC 4468 §5)
    var urlAuth = new org.darwinmail.urlauth.UrlAuth(config.hostname(), services.directory(), services.mail(),
        new org.darwinmail.store.UrlAuthKeys(services.db()), java.time.Clock.systemUTC());
    SmtpContext smtp = new SmtpContext(config, services.directory(), services.blobs(),
        services.acceptance().via(delivery), tls, logins, services.guard(), urlAuth);
    bind("smtp", config.listen().smtp(), new SmtpServer(smtp, SmtpSession.Kind.MX));
    bind("submission", config.listen().submission(), new SmtpServer(smtp, SmtpSession.Kind.SUBMISSION));
    bind("submissions", config.listen().submissions(), new SmtpServer(smtp, SmtpSession.Kind.SUBMISSIONS));
    clusterLocks = org.darwinmail.store.ClusterLocks.open(services.db());
    Pop3Context pop3 = new Pop3Context(config, services.directory(), services.mail(), tls, logins,
        new MaildropLocks(clusterLocks));
    bind("pop3", config.listen().pop3(), new Pop3Server(pop3, false));
    bind("pop3s", config.listen().pop3s(), new Pop3Server(pop3, true));
    org.darwinmail.imap.ImapContext imap = new org.darwinmail.imap.ImapContext(config, services.directory(),
        services.mail(), tls, logins, urlAuth);
    bind("imap", config.listen().imap(), new org.darwinmail.imap.ImapServer(imap, false));
    bind("imaps", config.listen().imaps(), new org.darwinmail.imap.ImapServer(imap, true));
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
    bound.put(name, net.bind(name, HostPort.parse("listen." + name, address),
        services.guard().connections().wrap(name, init)));
  }

  /** The port a listener is bound to (useful with port 0), or -1 when it is off. */
  public int port(String listener) {
    InetSocketAddress a = bound.get(listener);
    return a == null ? -1 : a.getPort();
  }

  /** The outbound queue and its delivery engine (started by listen()). */
  public DeliveryEngine delivery() {
    return services.delivery();
  }

  /** The server's TLS context (null before listen()); the admin listener serves the same certificate. */
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
    if (backups != null) {
      backups.close();
    }
    services.delivery().close();
    if (collector != null) {
      collector.close();
    }
    clusterLocks.close();
    services.close();
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
      Guard guard = new Guard(sends, new HarvestGuard(config.guard()), new ConnectionLimits(config.guard()),
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
