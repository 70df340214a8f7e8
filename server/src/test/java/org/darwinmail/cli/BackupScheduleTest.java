package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigException;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.assertj.core.api.Assertions;

/**
 * Issue 18: [backup] in the settings starts the server's scheduled backups; {@code darwinmail backup status} (inside
 * the running server, and from the status file when it is stopped) shows the last one's time, result and size.
 */
class BackupScheduleTest {
  @TempDir
  Path dir;

  @Test
  void theRunningServerBacksUpOnScheduleAndStatusShowsTheLastOne() throws Exception {
    Path c = CliTest.config(dir);
    Path folder = dir.resolve("scheduled");
    Files.writeString(c, Files.readString(c) + "[backup]\nschedule = \"every 1s\"\nfolder = \"" + folder
        + "\"\nkeep = 2\n");
    CliTest.run("", "--config", c.toString(), "domain", "add", "one.test");
    ServerConfig cfg = ConfigLoader.load(c);
    String[] r = CliTest.run("", "--config", c.toString(), "backup", "status");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).isEqualTo("schedule: every 1s (UTC) into " + folder + ", keeping 2 (the server is not running)\n"
        + "last: none yet\n");
    try (DarwinMail server = DarwinMail.start(TestServer.prepare(cfg))) {
      long deadline = System.nanoTime() + 120_000_000_000L;
      while (server.backups().status() == null || server.backups().status().deleted() == 0) {
        assertThat(System.nanoTime()).as("no scheduled backup deleted an older one").isLessThan(deadline);
        Thread.sleep(100);
      }
      r = Main.run(Cli.inside(server), "", "backup", "status");
      assertThat(r[0]).as(r[2]).isEqualTo("0");
      assertThat(r[1]).startsWith("schedule: every 1s (UTC) into " + folder + ", keeping 2; next at ")
          .containsPattern("\nlast: OK at \\S+ \\(\\d+ s ago\\): " + folder + "/scheduled-\\d{8}-\\d{6}(-\\d+)?, 0"
              + " messages, 0 blobs, [0-9.]+ MB, verified; \\d+ older deleted\n");
      r = Main.run(Cli.inside(server), "", "backup", "status", "--json");
      assertThat(r[1]).startsWith("{\"schedule\":\"every 1s\",\"folder\":\"" + folder + "\",\"keep\":2,"
          + "\"keep_days\":0,\"next\":\"").contains("\"last\":{\"started\":\"", "\"ok\":true,\"error\":\"\"");
      assertThat(server.backups().json()).contains("\"ok\":true");
    }
    try (var l = Files.list(folder)) {
      assertThat(l.filter(p -> p.getFileName().toString().startsWith("scheduled-")).count()).isBetween(2L, 3L);
    }
    // Stopped: the status file says the same
    r = CliTest.run("", "--config", c.toString(), "backup", "status");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).contains("(the server is not running)\nlast: OK at ");
  }

  @Test
  void aScheduleTheLoaderCannotReadIsAnErrorNamingTheKey() throws Exception {
    Path c = CliTest.config(dir);
    Files.writeString(c, Files.readString(c) + "[backup]\nschedule = \"weekly\"\n");
    Assertions.assertThatThrownBy(() -> ConfigLoader.load(c)).isInstanceOf(ConfigException.class)
        .hasMessage(c + ": backup.schedule: \"weekly\" is not a schedule (\"daily 03:30\", UTC, or \"every 6h\","
            + " with s, m, h or d)");
  }
}
