package org.darwinmail.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One Darwin Mail node of a cluster test (issue 20): a server process of its own ({@code darwinmail serve}, the test
 * JVM's class path), listening on one loopback address (127.0.0.2, 127.0.0.3...) with SMTP, IMAP and POP3 on free
 * ports, its own data directory, and the shared store: a database of {@link PostgresCluster} and a bucket of
 * {@link S3Server}. Started and stopped by PID: {@link #kill} is SIGKILL, {@link #close} SIGTERM (then SIGKILL).
 * {@link #cli} runs {@code darwinmail} in another process with this node's configuration, so that a command reaches
 * the running node over its control socket, as an operator's would.
 */
public final class ClusterNode implements AutoCloseable {
  private static final List<String> LISTENERS = List.of("smtp", "submission", "imap", "pop3");

  private final String name;
  private final String address;
  private final Path dir;
  private final Path config;
  private final Map<String, Integer> ports;
  private Process process;
  private int starts;

  private ClusterNode(String name, String address, Path dir, Path config, Map<String, Integer> ports) {
    this.name = name;
    this.address = address;
    this.dir = dir;
    this.config = config;
    this.ports = ports;
  }

  /** The store the nodes share: one PostgreSQL database, one bucket. */
  public record Shared(String jdbcUrl, Path passwordFile, String endpoint, String bucket, Path credentialsFile) {
    /** A new database on the JVM's test cluster and a new bucket on its S3 endpoint. */
    public static Shared create() {
      return create(PostgresCluster.shared());
    }

    /** A new database on {@code pg} (a cluster of the test's own, to restart: {@link PostgresCluster#startPrivate}). */
    public static Shared create(PostgresCluster pg) {
      S3Server s3 = S3Server.shared();
      return new Shared(pg.newDatabase(), pg.passwordFile(), s3.endpoint().toString(), s3.newBucket(),
          s3.credentialsFile());
    }
  }

  /**
   * Writes the configuration of node {@code name} on {@code address} (its data directory under {@code parent}),
   * with free ports on that address; does not start it.
   */
  public static ClusterNode configure(String name, String address, Path parent, Shared store) throws IOException {
    return configure(name, address, parent, store, "");
  }

  /**
   * As {@link #configure(String, String, Path, Shared)}, with {@code moreToml} appended to the file (tables of its
   * own: {@code [dns]}, {@code [delivery]}, {@code [guard.send]}...).
   */
  public static ClusterNode configure(String name, String address, Path parent, Shared store, String moreToml)
      throws IOException {
    Path dir = Files.createDirectories(parent.resolve(name));
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (String l : LISTENERS) {
      ports.put(l, freePort(address));
    }
    StringBuilder toml = new StringBuilder()
        .append("hostname = \"").append(name).append(".cluster.test\"\n")
        .append("data_dir = \"var\"\n")
        .append("[listen]\n");
    for (String l : List.of("smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "admin")) {
      toml.append(l).append(" = \"").append(ports.containsKey(l) ? address + ":" + ports.get(l) : "").append("\"\n");
    }
    toml.append("[store]\ndisk_reserve_mb = 16\nengine = \"postgresql\"\n")
        .append("url = \"").append(store.jdbcUrl()).append("\"\n")
        .append("user = \"").append(PostgresCluster.USER).append("\"\n")
        .append("password_file = \"").append(store.passwordFile()).append("\"\n")
        .append("pool_size = 8\n")
        .append("[blobs]\nbackend = \"s3\"\n")
        .append("endpoint = \"").append(store.endpoint()).append("\"\n")
        .append("bucket = \"").append(store.bucket()).append("\"\n")
        .append("credentials_file = \"").append(store.credentialsFile()).append("\"\n")
        .append("path_style = true\n")
        .append(moreToml);
    Path config = dir.resolve("darwinmail.toml");
    Files.writeString(config, toml.toString(), StandardCharsets.UTF_8);
    return new ClusterNode(name, address, dir, config, ports);
  }

  private static int freePort(String address) throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(address))) {
      return s.getLocalPort();
    }
  }

  /** Starts the server process (its output in {@code <name>-<n>.log} beside its configuration). */
  public ClusterNode start() throws IOException {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException(name + " is running");
    }
    List<String> cmd = new ArrayList<>(List.of(java(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Xshare:auto", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        "org.darwinmail.cli.Main", "--config", config.toString(), "serve"));
    process = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + "-" + (++starts) + ".log").toFile()).start();
    return this;
  }

  /** Waits until every listener accepts a connection; fails when the process exits first (its log in the error). */
  public ClusterNode awaitListening(long seconds) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    for (String l : LISTENERS) {
      while (true) {
        if (!process.isAlive()) {
          throw new IllegalStateException(name + " exited with " + process.exitValue() + ": " + log());
        }
        try (Socket s = new Socket(address, ports.get(l))) {
          break;
        } catch (IOException e) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(name + " does not listen for " + l + " after " + seconds + " s: "
                + log());
          }
          Thread.sleep(50);
        }
      }
    }
    return this;
  }

  /** The last start's output. */
  public String log() throws IOException {
    return Files.readString(dir.resolve(name + "-" + starts + ".log"), StandardCharsets.UTF_8);
  }

  /** SIGKILL, at once; waits for the process to be gone. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** {@code darwinmail --config <this node's> args...} in another process, {@code stdin} on its input. */
  public CliResult cli(String stdin, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(java(), "-XX:TieredStopAtLevel=1", "-cp",
        System.getProperty("java.class.path"), "org.darwinmail.cli.Main", "--config", config.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).start();
    p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("darwinmail " + String.join(" ", args) + " did not finish");
    }
    return new CliResult(p.exitValue(), out, err);
  }

  public record CliResult(int status, String out, String err) {}

  private static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  public String address() {
    return address;
  }

  public int port(String listener) {
    return ports.get(listener);
  }

  public Path configFile() {
    return config;
  }

  public boolean alive() {
    return process != null && process.isAlive();
  }

  /** SIGTERM (a clean stop), SIGKILL after 30 s. */
  @Override
  public void close() throws InterruptedException {
    if (process == null || !process.isAlive()) {
      return;
    }
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }
}
