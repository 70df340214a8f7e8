package org.darwinmail.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import org.darwinmail.DarwinMail;
import org.darwinmail.auth.Passwords;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.config.StoreConfig;
import org.darwinmail.delivery.Dkim;
import org.darwinmail.net.Tls;
import org.darwinmail.store.DataDir;
import org.darwinmail.store.Database;

/**
 * The whole server, started inside a test: a temporary data directory (Derby on disk), every listener on
 * 127.0.0.1 with a port chosen by the system. One fixture every test can use (STYLE.md, Java server §8).
 */
public final class TestServer implements AutoCloseable {
  private final Path dir;
  private final ServerConfig config;
  private DarwinMail server;

  private TestServer(Path dir, ServerConfig config) {
    this.dir = dir;
    this.config = config;
  }

  public static TestServer start() {
    return start(c -> c);
  }

  /** Starts with the default test configuration changed by {@code tweak}. */
  public static TestServer start(UnaryOperator<ServerConfig> tweak) {
    try {
      Path dir = Files.createTempDirectory("darwinmail-test");
      // A small disk reserve: the tests' mail does not depend on how full the machine's disk is.
      ServerConfig c = tweak.apply(ServerConfig.defaults(dir.resolve("var"))
          .withHostname("mx.test").withListen(ListenConfig.ephemeral())
          .withStore(new org.darwinmail.config.StoreConfig(16L)));
      prepare(c);
      TestServer t = new TestServer(dir, c);
      t.server = DarwinMail.start(c);
      return t;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Each password's Argon2id hash, made once per JVM at a small cost (64 KiB, one pass): at the server's own cost
   * (Passwords.hash: 19 MiB, two passes, about 30 ms of CPU) the logins of the IMAP, POP3 and SMTP tests were a tenth
   * of the test JVMs' CPU. Every login still reads the stored parameters and derives with them (Passwords.verify, as
   * for a hash made before a change of cost); accounts added through the directory, the console or the CLI are
   * hashed at the server's cost (store.DirectoryTest, admin.web.*, cli.*).
   */
  private static final Map<String, String> HASHES = new ConcurrentHashMap<>();

  /**
   * What a first start would make and every start may share, put in place beforehand: the self-signed certificate
   * (placeCertificate) and, on Derby, the migrated database (placeDatabase). For a test that starts DarwinMail itself
   * on a configuration of its own and is not about a first start. Returns {@code c}.
   */
  public static ServerConfig prepare(ServerConfig c) {
    try {
      if (c.tls().certFile().isEmpty()) {
        placeCertificate(c);
      }
      if (c.store().engine().equals(StoreConfig.DERBY)) {
        placeDatabase(c);
      }
      return c;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A Derby database with every migration applied, shut down cleanly: made once per JVM, copied by each start. */
  private static Path template;

  /**
   * Puts a copy of a freshly migrated database where the server would create one (data_dir/db): creating it ran
   * every migration's DDL, about a fifth of the test JVMs' CPU when each fixture did. Migrations themselves are
   * tested on databases made from scratch (store.*, cli.DataFormatTest, the end-to-end upgrade tests).
   */
  private static void placeDatabase(ServerConfig c) throws IOException {
    Path from;
    synchronized (TestServer.class) {
      if (template == null) {
        Path d = Files.createTempDirectory("darwinmail-test-db");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> Trees.delete(d)));
        Database.open(d).close();
        template = DataDir.of(d).db();
      }
      from = template;
    }
    Path to = DataDir.of(c.dataDir()).db();
    if (Files.exists(to)) {
      return; // a start on data made before
    }
    Trees.copy(from, to);
  }

  /** The self-signed pairs made in this JVM, by host names: cert.pem and key.pem in a folder of their own. */
  private static final Map<String, Path> PAIRS = new ConcurrentHashMap<>();

  /**
   * Puts a self-signed certificate for the configured host name where the server would generate one at its first
   * start (data_dir/tls), made once per JVM and host name: each generation costs an RSA key (about a tenth of the
   * test JVMs' CPU when every fixture made its own). The generation itself is tested where it happens
   * (net.TlsPolicyTest, net.TlsInstallTest).
   */
  public static void placeCertificate(ServerConfig c) throws IOException {
    // the names DarwinMail.loadTls would put in it: the host name and the MTA-STS policy hosts
    List<String> other = c.mtaSts().domains().stream().map(d -> "mta-sts." + d).toList();
    Path pair = PAIRS.computeIfAbsent(c.hostname() + " " + other, k -> {
      try {
        Path d = Files.createTempDirectory("darwinmail-test-tls");
        d.toFile().deleteOnExit();
        Tls.generateSelfSigned(d.resolve("cert.pem"), d.resolve("key.pem"), c.hostname(), other, Duration.ofDays(825));
        d.resolve("cert.pem").toFile().deleteOnExit();
        d.resolve("key.pem").toFile().deleteOnExit();
        return d;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    DataDir dd = DataDir.of(c.dataDir());
    if (Files.exists(dd.tlsCert()) || Files.exists(dd.tlsKey())) {
      return; // a start on data made before
    }
    Files.createDirectories(dd.tlsCert().getParent());
    Files.copy(pair.resolve("cert.pem"), dd.tlsCert());
    Files.copy(pair.resolve("key.pem"), dd.tlsKey());
  }

  /** A data directory holding one RSA and one Ed25519 DKIM pair made in this JVM by the server's own code. */
  private static Path dkimPairs;

  /**
   * Puts DKIM keys for {@code domain} where the server would make them when it first signs for it (data_dir/dkim,
   * the configured selector), copies of one pair per JVM: each generation costs an RSA key. Making, storing and
   * sharing keys are tested where they happen (delivery.OutboundDeliveryTest's own servers, admin.web.*, cli.*).
   */
  private void placeDkimKeys(String domain) {
    try {
      synchronized (TestServer.class) {
        if (dkimPairs == null) {
          Path d = Files.createTempDirectory("darwinmail-test-dkim");
          Runtime.getRuntime().addShutdownHook(new Thread(() -> Trees.delete(d)));
          new Dkim(d, "s").ensureKeys("pair.test");
          dkimPairs = d;
        }
      }
      Path to = DataDir.of(config.dataDir()).dkim();
      Files.createDirectories(to);
      Dkim made = new Dkim(dkimPairs, "s");
      Dkim here = new Dkim(config.dataDir(), config.delivery().dkimSelector());
      for (Dkim.Algorithm a : Dkim.Algorithm.values()) {
        for (String ext : List.of(".pub", ".key")) { // the private key last: its presence means "complete"
          Path target = to.resolve(domain + "." + here.selector(a) + ext);
          if (!Files.exists(target)) {
            Files.copy(DataDir.of(dkimPairs).dkim().resolve("pair.test." + made.selector(a) + ext), target);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Stops and starts the server again on the same data (ports change). */
  public void restart() {
    server.close();
    server = DarwinMail.start(config);
  }

  public int port(String listener) {
    return server.port(listener);
  }

  public DarwinMail server() {
    return server;
  }

  public DarwinMail.Services services() {
    return server.services();
  }

  public ServerConfig config() {
    return config;
  }

  public Path dataDir() {
    return config.dataDir();
  }

  /** Adds the domain when missing, then the account. */
  public void addUser(String address, String password) {
    String domain = address.substring(address.indexOf('@') + 1);
    var d = services().directory();
    if (!d.domains().contains(domain)) {
      placeDkimKeys(domain);
      d.addDomain(domain);
    }
    d.addAccountWithHash(address, HASHES.computeIfAbsent(password, pw -> Passwords.hash(pw.toCharArray(), 64, 1)));
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
    Trees.delete(dir);
  }
}
