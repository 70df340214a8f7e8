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
      if (c.tls().certFile().isEmpty()) {
        placeCertificate(c);
      }
      if (c.store().engine().equals(StoreConfig.DERBY)) {
        placeDatabase(c);
      }
      TestServer t = new TestServer(dir, c);
      t.server = DarwinMail.start(c);
      return t;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Each password's Argon2id hash, made once per JVM: a derivation costs tens of milliseconds of CPU (about a tenth
   * of the test JVMs' CPU when every addUser made its own). Logins still derive (Passwords.verify).
   */
  private static final Map<String, String> HASHES = new ConcurrentHashMap<>();

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
      d.addDomain(domain);
    }
    d.addAccountWithHash(address, HASHES.computeIfAbsent(password, pw -> Passwords.hash(pw.toCharArray())));
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
    Trees.delete(dir);
  }
}
