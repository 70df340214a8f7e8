package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.ControlProtocol;
import org.darwinmail.admin.ControlServer;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Flags;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.Blobs;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18: {@code darwinmail backup restore NAME --to DATA_DIR --replace} (ARCHITECTURE.md, "Backups"): a backup
 * restored over the data set a data directory holds, the old set kept aside, the backups left where they are.
 */
class RestoreReplaceTest {
  @TempDir
  Path dir;

  private static String[] run(String... args) {
    return CliTest.run("", args);
  }


  /** a@one.test: INBOX with flagged and keyworded messages, one in Archive. */
  static void fill(ServerConfig cfg) throws IOException {
    try (var s = DarwinMail.Services.open(cfg)) {
      s.directory().addDomain("one.test");
      Account a = s.directory().addAccount("a@one.test", "a-password".toCharArray());
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      long archive = s.mail().mailbox(a.id(), "Archive").orElseThrow().id();
      s.mail().append(inbox, Blobs.write(s.blobs(), "Subject: 1\r\n\r\nbody 1\r\n"), Instant.now(),
          Flags.SEEN | Flags.FLAGGED, Set.of("$Forwarded"));
      s.mail().append(inbox, Blobs.write(s.blobs(), "Subject: 2\r\n\r\nbody 2\r\n"), Instant.now(), Flags.ANSWERED,
          Set.of());
      s.mail().append(archive, Blobs.write(s.blobs(), "Subject: kept\r\n\r\n" + "x".repeat(100_000)), Instant.now(), 0,
          Set.of("project"));
    }
    Files.writeString(cfg.dataDir().resolve("settings.toml"), "[smtp]\nmax_message_size = 12345678\n");
  }

  /** Mail added after the backup: the data set --replace sets aside. */
  static void change(ServerConfig cfg) throws IOException {
    try (var s = DarwinMail.Services.open(cfg)) {
      s.directory().addDomain("two.test");
      Account a = s.directory().account("a@one.test").orElseThrow();
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      s.mail().append(inbox, Blobs.write(s.blobs(), "Subject: after\r\n\r\nafter the backup\r\n"), Instant.now(), 0,
          Set.of());
    }
    Files.writeString(cfg.dataDir().resolve("settings.toml"), "[smtp]\nmax_message_size = 999999\n");
  }

  /** Every domain, then folder, uid, flags, keywords and bytes of every message of a@one.test. */
  static List<String> contents(ServerConfig cfg) throws IOException {
    List<String> out = new ArrayList<>();
    try (var s = DarwinMail.Services.open(cfg)) {
      out.add("domains " + s.directory().domains());
      Account a = s.directory().account("a@one.test").orElseThrow();
      for (var m : s.mail().mailboxes(a.id())) {
        for (MessageRow r : s.mail().messages(m.id())) {
          try (InputStream in = s.mail().open(r)) {
            out.add(m.name() + " " + r.uid() + " " + r.flags() + " " + new java.util.TreeSet<>(r.keywords()) + " "
                + new String(in.readAllBytes(), StandardCharsets.UTF_8));
          }
        }
      }
    }
    return out;
  }

  private static List<String> names(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void replaceRestoresOverTheDataSetKeepsTheOldOneAsideAndLeavesTheBackupsInPlace() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    Path data = cfg.dataDir().toAbsolutePath();
    fill(cfg);
    List<String> before = contents(cfg);
    assertThat(before).hasSize(4).contains("domains [one.test]");
    String[] r = run("--config", c.toString(), "backup", "create");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    Path b = Path.of(r[1].lines().findFirst().orElseThrow());
    assertThat(b.getParent()).isEqualTo(data.resolve("backup"));
    String name = b.getFileName().toString();
    change(cfg);
    List<String> changed = contents(cfg);
    assertThat(changed).hasSize(5).isNotEqualTo(before);

    r = run("--config", c.toString(), "backup", "restore", name, "--to", data.toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).startsWith("darwinmail: " + data + " is not empty (it holds ")
        .endsWith("): restore into an empty data directory, or add --replace to set the data set there aside\n");
    assertThat(contents(cfg)).isEqualTo(changed);

    r = run("--config", c.toString(), "backup", "restore", name, "--to", data.toString(), "--replace");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[2]).isEmpty();
    List<String> said = r[1].lines().toList();
    assertThat(said).hasSize(3);
    assertThat(said.get(0)).startsWith("restored " + name + " into " + data + ": 3 messages, ");
    Path aside = names(data).stream().filter(n -> n.startsWith("replaced-")).map(data::resolve).findFirst()
        .orElseThrow();
    assertThat(aside.getFileName().toString()).matches("replaced-\\d{8}-\\d{6}");
    assertThat(said.get(1)).isEqualTo("the data set that was there is now in " + aside + "/ (moved: "
        + String.join(", ", names(aside)) + "); " + data.resolve("backup") + " stayed in place");
    assertThat(said.get(2)).isEqualTo("start the server; once satisfied with the restored data, delete the old set:"
        + " rm -rf " + aside);
    assertThat(names(aside)).contains("FORMAT", "blobs", "db", "settings.toml").doesNotContain("backup");
    assertThat(Files.readString(aside.resolve("settings.toml"))).contains("999999");
    assertThat(Files.readString(data.resolve("settings.toml"))).isEqualTo("[smtp]\nmax_message_size = 12345678\n");
    assertThat(names(data)).contains("backup", "db", "blobs").doesNotContain("restore-staging",
        "restore-replace.journal");
    assertThat(b.resolve("MANIFEST")).isRegularFile(); // the backup stayed where it was

    // Every message, flag, keyword and domain of the backup; nothing of what came after it.
    assertThat(contents(cfg)).isEqualTo(before);
    // The old set, whole, where it was moved: a configuration pointing at it finds the later mail.
    Path oldConfig = dir.resolve("old.toml");
    Files.writeString(oldConfig, Files.readString(c).replace("data_dir = \"var\"", "data_dir = \"" + aside + "\""));
    assertThat(contents(ConfigLoader.load(oldConfig))).isEqualTo(changed);

    // The start, verify and the next backup ignore the old set: no complaint, not backed up.
    r = run("--config", c.toString(), "verify");
    assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");
    assertThat(r[1] + r[2]).doesNotContain("replaced-", "orphan");
    r = run("--config", c.toString(), "backup", "create");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    Path again = Path.of(r[1].lines().findFirst().orElseThrow());
    assertThat(Files.readString(again.resolve("MANIFEST"))).doesNotContain("replaced-", "restore-");
    assertThat(r[1]).contains("3 messages");
  }

  @Test
  void replaceIsRefusedWhileAServerRunsOnTheDirectory() throws Exception {
    Path c = CliTest.config(dir);
    ServerConfig cfg = ConfigLoader.load(c);
    Path data = cfg.dataDir().toAbsolutePath();
    fill(cfg);
    String[] r = run("--config", c.toString(), "backup", "create", dir.resolve("backups").toString());
    Path b = Path.of(r[1].lines().findFirst().orElseThrow());
    change(cfg);
    List<String> changed = contents(cfg);

    // A server answering on the control socket.
    try (ControlServer server = ControlServer.start(data, req -> new ControlProtocol.Reply(0, "", ""))) {
      r = run("--config", c.toString(), "backup", "restore", b.toString(), "--to", data.toString(), "--replace");
      assertThat(r[0]).isEqualTo("1");
      assertThat(r[2]).isEqualTo("darwinmail: a server is running on " + data + " (its control socket "
          + data.resolve("run/control.sock") + " answers): stop it first (systemctl stop darwinmail); nothing"
          + " restored\n");
    }
    // A server starting: its database open, no socket yet.
    try (var s = DarwinMail.Services.open(cfg)) {
      r = run("--config", c.toString(), "backup", "restore", b.toString(), "--to", data.toString(), "--replace");
      assertThat(r[0]).isEqualTo("1");
      assertThat(r[2]).isEqualTo("darwinmail: a server is running on " + data + " (its database "
          + data.resolve("db") + " is in use by another process): stop it first (systemctl stop darwinmail);"
          + " nothing restored\n");
    }
    // The server itself, the command sent to it over its control socket as the CLI does.
    try (DarwinMail server = DarwinMail.start(TestServer.prepare(cfg));
        ControlServer control = ControlServer.start(server.config().dataDir(), Cli.controlHandler(server))) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
      Integer exit = ControlClient.forward(c, List.of("--config", c.toString(), "backup", "restore", b.toString(),
          "--to", data.toString(), "--replace"), false, java.io.InputStream.nullInputStream(),
          new java.io.PrintStream(out, true, StandardCharsets.UTF_8),
          new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
      assertThat(exit).isEqualTo(1);
      assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("darwinmail: a server is running on " + data
          + " (this command reached it over its control socket): stop it first (systemctl stop darwinmail);"
          + " nothing restored\n");
    }
    assertThat(names(data)).noneMatch(n -> n.startsWith("replaced-") || n.startsWith("restore-"));
    assertThat(contents(cfg)).isEqualTo(changed);
  }
}
