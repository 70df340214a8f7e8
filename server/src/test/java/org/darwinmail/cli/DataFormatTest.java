package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18: the release's version and the data format manifest {@code <data_dir>/FORMAT} (ARCHITECTURE.md, "The
 * data directory"). A release that meets data newer than it understands refuses to start with one line and writes
 * nothing; before, it migrated what it knew and ran on a schema it did not understand.
 */
class DataFormatTest {
  @TempDir
  Path dir;

  private Path config() throws IOException {
    return CliTest.config(dir);
  }

  private static String[] run(String... args) {
    return CliTest.run("", args);
  }

  /** server/pom.xml's version: the one source of the release's version. */
  private static String pomVersion() throws IOException {
    String pom = Files.readString(Path.of("pom.xml"));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("</modelVersion>.*?<version>([^<]+)</version>",
        java.util.regex.Pattern.DOTALL).matcher(pom);
    assertThat(m.find()).isTrue();
    return m.group(1);
  }

  @Test
  void versionIsThePomsVersion() throws IOException {
    String[] r = run("--version");
    assertThat(r[0]).isEqualTo("0");
    assertThat(r[1]).isEqualTo("Darwin Mail " + pomVersion() + "\n");
  }

  /**
   * A first start writes the manifest: this release, the oldest release that reads the data, and each format's
   * version (database_schema is the last migration's number: a new migration changes it, and READABLE_FROM with it
   * when older releases cannot read the result). A start on data with this release's manifest works.
   */
  @Test
  void aFreshStartWritesTheManifestAndAStartOnItWorks() throws Exception {
    Path c = config();
    assertThat(run("--config", c.toString(), "domain", "add", "one.test")[0]).isEqualTo("0");
    Path manifest = dir.resolve("var").resolve("FORMAT");
    List<String> lines = Files.readAllLines(manifest).stream().filter(l -> !l.startsWith("#")).toList();
    assertThat(lines).containsExactly("written_by=" + pomVersion(), "readable_from=0.4.0", "database_schema=19",
        "intake_journal=2", "blob_layout=1");
    assertThat(dir.resolve("var").resolve("FORMAT.new")).doesNotExist();
    try (DarwinMail server = DarwinMail.start(ConfigLoader.load(c))) {
      assertThat(server.services().directory().domains()).contains("one.test");
    }
    String[] r = run("--config", c.toString(), "domain", "list");
    assertThat(r[0]).isEqualTo("0");
    assertThat(r[1]).isEqualTo("one.test\n");
  }

  /**
   * A manifest naming a newer database schema: {@code serve} and a command (separate processes, as an administrator
   * runs them) exit 1 with one line, and every file and folder of the data directory is as it was (content, size,
   * modification time): no probe file, no derby.log, no migration, no journal replay, no sweep.
   */
  @Test
  void aNewerManifestIsRefusedWithOneLineAndNothingWritten() throws Exception {
    Path c = config();
    assertThat(run("--config", c.toString(), "domain", "add", "one.test")[0]).isEqualTo("0");
    Path data = dir.resolve("var");
    int newer = org.darwinmail.store.Database.SCHEMA + 1;
    Files.writeString(data.resolve("FORMAT"), "written_by=0.3.0\nreadable_from=0.3.0\ndatabase_schema=" + newer
        + "\nintake_journal=2\nblob_layout=1\n");
    Map<String, String> before = snapshot(data);
    String line = "darwinmail: the data in " + data + " was written by Darwin Mail 0.3.0 (database schema " + newer
        + ", this release reads up to " + (newer - 1) + "); start Darwin Mail 0.3.0 or newer on it, or restore a"
        + " backup taken before the upgrade\n";
    for (String[] cmd : List.of(new String[] {"serve"}, new String[] {"user", "list"})) {
      Process p = CliTest.cli(c, cmd);
      try {
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", cmd) + " ended").isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd)).isEqualTo(1);
        assertThat(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(line);
      } finally {
        p.destroyForcibly().waitFor();
      }
      assertThat(snapshot(data)).as(String.join(" ", cmd)).isEqualTo(before);
    }
  }

  /** Formats this release knows, but readable only from a newer release: refused the same way. */
  @Test
  void aManifestReadableOnlyByANewerReleaseIsRefused() throws Exception {
    Path c = config();
    assertThat(run("--config", c.toString(), "domain", "add", "one.test")[0]).isEqualTo("0");
    Path data = dir.resolve("var");
    Files.writeString(data.resolve("FORMAT"), "written_by=0.9.1\nreadable_from=0.9.0\ndatabase_schema=7\n");
    Map<String, String> before = snapshot(data);
    String[] r = run("--config", c.toString(), "domain", "add", "two.test");
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).isEqualTo("darwinmail: the data in " + data + " was written by Darwin Mail 0.9.1 (readable"
        + " from Darwin Mail 0.9.0 on, this is " + pomVersion() + "); start Darwin Mail 0.9.0 or newer on it, or"
        + " restore a backup taken before the upgrade\n");
    assertThat(snapshot(data)).isEqualTo(before);
  }

  /**
   * No manifest (0.1.0's data, or a lost file) but a database migrated by a newer release (a schema_version row
   * above this release's last migration): refused after Derby's boot, before any migration; no manifest written.
   */
  @Test
  void aDatabaseWithAnUnknownMigrationIsRefusedWithoutAManifest() throws Exception {
    Path c = config();
    assertThat(run("--config", c.toString(), "domain", "add", "one.test")[0]).isEqualTo("0");
    Path data = dir.resolve("var");
    Files.deleteIfExists(data.resolve("FORMAT"));
    String url = "jdbc:derby:" + data.resolve("db").toAbsolutePath();
    try (Connection db = DriverManager.getConnection(url)) {
      db.createStatement().executeUpdate("INSERT INTO schema_version VALUES (99, 'V099__future.sql',"
          + " CURRENT_TIMESTAMP)");
    }
    try {
      DriverManager.getConnection(url + ";shutdown=true").close();
    } catch (SQLException e) {
      assertThat(e.getSQLState()).isEqualTo("08006"); // Derby's normal answer to a shutdown
    }
    String line = "darwinmail: the data in " + data + " was written by a newer release of Darwin Mail (database"
        + " schema 99, this release reads up to " + org.darwinmail.store.Database.SCHEMA + "); start that release or a newer one on it, or restore a backup"
        + " taken before the upgrade\n";
    for (String[] cmd : List.of(new String[] {"user", "list"}, new String[] {"serve"})) {
      String[] r = run(Stream.concat(Stream.of("--config", c.toString()), Stream.of(cmd)).toArray(String[]::new));
      assertThat(r[0]).as(String.join(" ", cmd)).isEqualTo("1");
      assertThat(r[2]).as(String.join(" ", cmd)).isEqualTo(line);
      assertThat(data.resolve("FORMAT")).doesNotExist();
    }
  }

  /**
   * An intake journal segment whose records carry a newer format's magic ("DMI3"), with or without a manifest: this
   * release would read its first record as the end of the segment and reuse or delete the file, losing mail a newer
   * release acknowledged. Refused with one line, every file as it was, the segment kept.
   */
  @Test
  void aJournalSegmentOfANewerFormatIsRefusedAndNothingWritten() throws Exception {
    Path c = config();
    assertThat(run("--config", c.toString(), "domain", "add", "one.test")[0]).isEqualTo("0");
    Path data = dir.resolve("var");
    Files.createDirectories(data.resolve("intake"));
    Path segment = data.resolve("intake").resolve("00000000000000a1-0123456789abcdef.seg");
    byte[] bytes = new byte[4096];
    System.arraycopy("DMI3".getBytes(StandardCharsets.US_ASCII), 0, bytes, 0, 4);
    bytes[7] = 64;
    Files.write(segment, bytes);
    String line = "darwinmail: the data in " + data + " was written by a newer release of Darwin Mail (intake journal"
        + " format 3 in intake/00000000000000a1-0123456789abcdef.seg, this release reads up to 2); start that"
        + " release or a newer one on it, or restore a backup taken before the upgrade\n";
    for (boolean manifest : new boolean[] {true, false}) {
      if (!manifest) {
        Files.delete(data.resolve("FORMAT"));
      }
      Map<String, String> before = snapshot(data);
      for (String[] cmd : List.of(new String[] {"user", "list"}, new String[] {"serve"})) {
        String[] r = run(Stream.concat(Stream.of("--config", c.toString()), Stream.of(cmd)).toArray(String[]::new));
        assertThat(r[0]).as(String.join(" ", cmd)).isEqualTo("1");
        assertThat(r[2]).as(String.join(" ", cmd)).isEqualTo(line);
        assertThat(snapshot(data)).as(String.join(" ", cmd)).isEqualTo(before);
      }
    }
  }

  /** Every file and folder under {@code root}: its size, modification time and (for a file) SHA-256. */
  private static Map<String, String> snapshot(Path root) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> all = Files.walk(root)) {
      for (Path p : all.toList()) {
        String hash = Files.isRegularFile(p)
            ? HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))) : "dir";
        out.put(root.relativize(p).toString(), Files.size(p) + " " + Files.getLastModifiedTime(p) + " "
            + hash);
      }
    }
    return out;
  }
}
