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
}
