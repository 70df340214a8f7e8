package org.darwinmail.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.UnaryOperator;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;

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
      TestServer t = new TestServer(dir, c);
      t.server = DarwinMail.start(c);
      return t;
    } catch (IOException e) {
      throw new IllegalStateException(e);
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
      d.addDomain(domain);
    }
    d.addAccount(address, password.toCharArray());
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
    try (var files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort
    }
  }
}
