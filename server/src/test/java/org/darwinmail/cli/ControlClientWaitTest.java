package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.ControlProtocol;
import org.darwinmail.admin.ControlServer;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A command typed while the server is starting (its Derby database open, its control socket not up yet) waits for
 * the socket and is run by the server, instead of failing on the database lock (issue 18; ARCHITECTURE.md, "The CLI
 * and the control socket").
 */
class ControlClientWaitTest {
  @TempDir
  Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private Integer forward(Path config, Duration wait) {
    return ControlClient.forward(config, List.of("--config", config.toString(), "domain", "list"), false,
        new ByteArrayInputStream(new byte[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), wait);
  }

  /** The server's side: answers every command with its arguments. */
  private static ControlProtocol.Reply echo(ControlProtocol.Request r) {
    return new ControlProtocol.Reply(0, "ran " + String.join(" ", r.args()) + "\n", "");
  }

  @Test
  void aCommandWaitsForAStartingServerAndIsRunThere() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    Path data = cfg.dataDir().toAbsolutePath();
    AtomicReference<ControlServer> socket = new AtomicReference<>();
    try (var starting = DarwinMail.Services.open(cfg)) { // the database open, as a start has it before its socket
      assertThat(ControlProtocol.databaseLocked(data)).isTrue();
      Thread up = Thread.ofVirtual().start(() -> {
        try {
          Thread.sleep(1500);
        } catch (InterruptedException e) {
          return;
        }
        socket.set(ControlServer.start(data, ControlClientWaitTest::echo));
      });
      Integer exit = forward(c, Duration.ofSeconds(60));
      up.join();
      assertThat(exit).isEqualTo(0);
      assertThat(err.toString(StandardCharsets.UTF_8))
          .isEqualTo("darwinmail: the server is starting; waiting for it (up to 60 s)\n");
      assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("ran --config " + c + " domain list\n");
    } finally {
      if (socket.get() != null) {
        socket.get().close();
      }
    }
  }

  /**
   * A server between its greeting and its database (issue 22: the listeners come first) holds only
   * {@code run/serve.lock}: a command typed then, in another process, waits for the server's socket instead of
   * opening the database itself (which would make the server's own opening fail).
   */
  @Test
  void aCommandFromAnotherProcessWaitsForAServerThatHasNotOpenedItsDatabaseYet() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    Path data = cfg.dataDir().toAbsolutePath();
    java.nio.file.Files.createDirectories(data);
    ControlServer socket = null;
    try (var mark = org.darwinmail.store.DataDir.of(data).markServer()) {
      assertThat(mark).as("the serve lock").isNotNull();
      assertThat(data.resolve("db")).doesNotExist();
      Process p = CliTest.cli(c, "domain", "list");
      try {
        var stderr = new java.io.BufferedReader(new java.io.InputStreamReader(p.getErrorStream(),
            StandardCharsets.UTF_8));
        assertThat(stderr.readLine()).isEqualTo("darwinmail: the server is starting; waiting for it (up to 300 s)");
        socket = ControlServer.start(data, ControlClientWaitTest::echo);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
            .isEqualTo("ran --config " + c + " domain list\n");
        assertThat(data.resolve("db")).as("the command did not open the database itself").doesNotExist();
      } finally {
        p.destroyForcibly().waitFor();
      }
    } finally {
      if (socket != null) {
        socket.close();
      }
    }
    assertThat(ControlProtocol.databaseLocked(data)).as("released with the lock").isFalse();
  }

  @Test
  void aServerThatNeverAnswersIsOneClearLineAndAReleasedDatabaseIsUsedHere() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    Path data = cfg.dataDir().toAbsolutePath();
    try (var stuck = DarwinMail.Services.open(cfg)) {
      assertThat(forward(c, Duration.ofSeconds(1))).isEqualTo(1);
      assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo(
          "darwinmail: the server is starting; waiting for it (up to 1 s)\n"
          + "darwinmail: the database " + data.resolve("db") + " is still in use by another process and no server"
          + " answered on " + data.resolve("run/control.sock") + " within 1 s (is a server stuck starting, or"
          + " another darwinmail command running?)\n");
      assertThat(out.size()).isZero();
    }
    // Nothing holds the database: no wait, the command runs in this process (null).
    err.reset();
    assertThat(ControlProtocol.databaseLocked(data)).isFalse();
    assertThat(forward(c, Duration.ofSeconds(60))).isNull();
    assertThat(err.size()).isZero();
  }

  @Test
  void theStartWaitComesFromTheEnvironmentAndABadValueIsSaidNotUsed() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
    assertThat(ControlClient.startWait(null, e)).isEqualTo(ControlClient.START_WAIT);
    assertThat(ControlClient.startWait("", e)).isEqualTo(ControlClient.START_WAIT);
    assertThat(ControlClient.startWait("2", e)).isEqualTo(Duration.ofSeconds(2));
    assertThat(ControlClient.startWait("9999", e)).isEqualTo(Duration.ofSeconds(3600));
    assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThat(ControlClient.startWait("5m\u001b[2J", e)).isEqualTo(ControlClient.START_WAIT);
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("darwinmail: DARWINMAIL_START_WAIT=5m?[2J is not a "
        + "number of seconds (0-3600); a starting server is waited for up to 300 s" + System.lineSeparator());
  }
}
