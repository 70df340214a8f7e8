package org.darwinmail.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL (Debian's, {@code /usr/lib/postgresql/15/bin}) for the tests that run a repository on it: an
 * unprivileged cluster in a temporary directory, owned by and run as {@code nobody} (the tests run as root, and
 * PostgreSQL refuses root), listening on 127.0.0.1 on a free port with its unix socket in the temporary directory,
 * password authentication (scram-sha-256) as the user {@link #USER}.
 *
 * <p>One cluster per test JVM, started on first use ({@link #shared()}), stopped by its PID (SIGINT, PostgreSQL's
 * fast shutdown) when the JVM exits, its directory then removed. Each caller takes a fresh database of its own
 * ({@link #newDatabase}), so that test classes do not see each other's rows.
 */
public final class PostgresCluster {
  public static final String USER = "darwin";
  private static final Path BIN = Path.of(System.getProperty("darwin.test.pgbin", "/usr/lib/postgresql/15/bin"));
  private static final String RUN_AS = "nobody";
  private static PostgresCluster shared;

  private final Path dir;
  private final Path passwordFile;
  private final int port;
  private volatile Process postgres;
  private final AtomicInteger databases = new AtomicInteger();
  /** How long initdb and the start took, for the record (ms). */
  public final long startMillis;

  private PostgresCluster(Path dir, Path passwordFile, int port, Process postgres, long startMillis) {
    this.dir = dir;
    this.passwordFile = passwordFile;
    this.port = port;
    this.postgres = postgres;
    this.startMillis = startMillis;
  }

  /** The cluster of this JVM, started on the first call. */
  public static synchronized PostgresCluster shared() {
    if (shared == null) {
      shared = start();
      PostgresCluster c = shared;
      System.out.println("PostgreSQL 15 test cluster on 127.0.0.1:" + c.port + ", PID " + c.pid() + ", ready in "
          + c.startMillis + " ms (initdb included)");
      Runtime.getRuntime().addShutdownHook(new Thread(c::stop, "postgres-stop"));
    }
    return shared;
  }

  private static PostgresCluster start() {
    if (!Files.isExecutable(BIN.resolve("postgres"))) {
      throw new IllegalStateException("PostgreSQL 15 is not installed (" + BIN + "/postgres missing):"
          + " apt-get install -y postgresql (or tools/apt-ensure postgresql)");
    }
    long t0 = System.nanoTime();
    try {
      Path dir = Files.createTempDirectory("darwinmail-pg");
      Path data = dir.resolve("data");
      Path pw = dir.resolve("password");
      Files.writeString(pw, "test-" + Long.toHexString(System.nanoTime()) + "\n", StandardCharsets.UTF_8);
      run(List.of("chown", "-R", RUN_AS + ":", dir.toString()));
      run(asUser(BIN.resolve("initdb").toString(), "-D", data.toString(), "-U", USER, "--pwfile=" + pw,
          "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"));
      for (int attempt = 1; ; attempt++) {
        int port = freePort();
        Path log = dir.resolve("postgres.log");
        Process p = launch(dir, port);
        if (waitReady(p, port, pw)) {
          return new PostgresCluster(dir, pw, port, p, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }
        p.destroy();
        p.waitFor(10, TimeUnit.SECONDS);
        if (attempt == 3) {
          throw new IllegalStateException("PostgreSQL did not start: " + Files.readString(log));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot start PostgreSQL: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Starts the server on the cluster in {@code dir} (not waiting for it), its output appended to postgres.log. */
  private static Process launch(Path dir, int port) throws IOException {
    // fsync off: a test cluster that dies with its machine is thrown away anyway.
    ProcessBuilder pb = new ProcessBuilder(asUser(BIN.resolve("postgres").toString(), "-D",
        dir.resolve("data").toString(), "-p", Integer.toString(port), "-k", dir.toString(),
        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=32MB"))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("postgres.log").toFile()));
    return pb.start();
  }

  /**
   * A cluster of the caller's own, for a test that stops or restarts it ({@link #restart}) and so must not share
   * the JVM's; the caller stops it ({@link #stop}).
   */
  public static PostgresCluster startPrivate() {
    PostgresCluster c = start();
    Runtime.getRuntime().addShutdownHook(new Thread(c::stop, "postgres-stop"));
    return c;
  }

  /**
   * Restarts the server as an operator would (fast shutdown, SIGINT, then a start on the same port and data): every
   * connection is cut; clients must connect again. Returns when it accepts connections again.
   */
  public void restart() {
    restart(java.time.Duration.ZERO);
  }

  /** As {@link #restart()}, the server staying down for {@code down} between its stop and its start. */
  public void restart(java.time.Duration down) {
    try {
      Process old = postgres;
      new ProcessBuilder("kill", "-INT", Long.toString(old.pid())).start().waitFor(10, TimeUnit.SECONDS);
      if (!old.waitFor(20, TimeUnit.SECONDS)) {
        throw new IllegalStateException("PostgreSQL did not stop within 20 s");
      }
      Thread.sleep(down.toMillis());
      Process p = launch(dir, port);
      postgres = p;
      if (!waitReady(p, port, passwordFile)) {
        throw new IllegalStateException("PostgreSQL did not start again: " + Files.readString(dir.resolve("postgres.log")));
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot restart PostgreSQL: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The command, run as {@link #RUN_AS} by exec (setpriv), so that the process started is the one named. */
  private static List<String> asUser(String... command) {
    List<String> l = new ArrayList<>(List.of("setpriv", "--reuid=" + RUN_AS, "--regid=nogroup", "--clear-groups",
        "--"));
    l.addAll(List.of(command));
    return l;
  }

  private static void run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Waits until a connection succeeds (true), or the server exited (false). */
  private static boolean waitReady(Process p, int port, Path pw) throws IOException, InterruptedException {
    String password = Files.readString(pw).strip();
    for (int i = 0; i < 600; i++) {
      if (!p.isAlive()) {
        return false;
      }
      try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", USER,
          password)) {
        return true;
      } catch (SQLException e) {
        Thread.sleep(50);
      }
    }
    return false;
  }

  /** Creates an empty database; returns its JDBC URL. */
  public String newDatabase() {
    String name = "t" + ProcessHandle.current().pid() + "_" + databases.incrementAndGet();
    try (Connection c = DriverManager.getConnection(url("postgres"), USER, password());
        Statement s = c.createStatement()) {
      s.executeUpdate("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("CREATE DATABASE " + name + ": " + e.getMessage(), e);
    }
    return url(name);
  }

  public String url(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  /** The file holding the password of {@link #USER} (one line). */
  public Path passwordFile() {
    return passwordFile;
  }

  public String password() {
    try {
      return Files.readString(passwordFile).strip();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public long pid() {
    return postgres.pid();
  }

  /** Fast shutdown by PID (SIGINT), SIGKILL after 20 s; then the directory goes. */
  public void stop() {
    try {
      if (postgres.isAlive()) {
        new ProcessBuilder("kill", "-INT", Long.toString(postgres.pid())).start().waitFor(10, TimeUnit.SECONDS);
        if (!postgres.waitFor(20, TimeUnit.SECONDS)) {
          postgres.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      try (var s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    } catch (IOException e) {
      // the temporary directory stays; nothing else depends on it
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
