package org.darwinmail.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data directory read alone (the CLI's way to its server's control socket) agrees with the full load. */
class ConfigPathsTest {
  @TempDir
  Path dir;

  @Test
  void dataDirIsTheOneTheFullLoadFinds() throws IOException {
    for (String toml : new String[] {
        "hostname = \"a.test\"\ndata_dir = \"/srv/mail\"\n[listen]\nsmtp = \"\"\n",
        "[listen]\nsmtp = \"\"\n",                                       // default: var beside the file
        "data_dir = \"rel/data\"\n[dns]\nservers = [\"127.0.0.1:53\"]\n", // relative to the file's folder
        "[store]\ndisk_reserve_mb = 1\n[smtp]\nmax_recipients = 5\n"}) {
      Path f = dir.resolve("d.toml");
      Files.writeString(f, toml);
      assertThat(ConfigPaths.dataDir(f)).as(toml).isEqualTo(ConfigLoader.load(f).dataDir());
    }
  }

  /**
   * The scan that spares a forwarded command the TOML parser (issue 22) gives the parser's answer where it decides,
   * and leaves to the parser what it does not read.
   */
  @Test
  void theScanAgreesWithTheParserOrLeavesTheFileToIt() throws IOException {
    String[] decided = {
        "data_dir = \"/srv/mail\"\n",
        "  data_dir\t=\t'/srv/it\\s'   # a literal string keeps backslashes\n",
        "# comment\r\nhostname = \"m.test\" # x\r\n\r\ndata_dir = \"/srv/a#b\\\\c\\t\\u00e9\\U0001F600\"\r\n",
        "data_dir = 'C:\\mail'\n[dns]\nservers = [\"127.0.0.1:53\",\n \"[::1]:53\"]\n",
        "",
        "data_dir = \"rel/\\\"q\\\"\"",
    };
    for (String toml : decided) {
      Path f = dir.resolve("s.toml");
      Files.writeString(f, toml);
      assertThat(ConfigPaths.scan(toml)).as(toml).isNotNull();
      assertThat(ConfigPaths.dataDir(f)).as(toml).isEqualTo(ConfigLoader.load(f).dataDir());
    }
    // A data_dir inside a table is not the top level's (the full load refuses it as an unknown key).
    assertThat(ConfigPaths.scan("hostname = \"x\"\n[store]\ndata_dir = \"/not/top\"\n")).isEqualTo(new ConfigPaths.Top(null));
    String[] left = {
        "\"data_dir\" = \"/srv/quoted-key\"\n",
        "a.b = \"dotted\"\ndata_dir = \"/srv/x\"\n",
        "data_dir = \"\"\"/srv/multi\"\"\"\n",
        "x = [\n\"[not a table]\",\n]\ndata_dir = \"/srv/after-array\"\n",
        "data_dir = \"/a\"\ndata_dir = \"/b\"\n",
        "data_dir = \"/a\\q\"\n",
        "data_dir = 5\n",
        "\uFEFFdata_dir = \"/bom\"\n",
        "data_dir = \"unterminated\n",
        "data_dir = \"/a\" trailing\n",
    };
    for (String toml : left) {
      assertThat(ConfigPaths.scan(toml)).as(toml).isNull();
    }
    // Left to the parser, a valid file still gives the full load's answer.
    for (String toml : new String[] {left[0], left[2]}) {
      Path f = dir.resolve("p.toml");
      Files.writeString(f, toml);
      assertThat(ConfigPaths.dataDir(f)).as(toml).isEqualTo(ConfigLoader.load(f).dataDir());
    }
  }

  @Test
  void aBrokenFileIsAConfigurationError() throws IOException {
    Path f = dir.resolve("bad.toml");
    Files.writeString(f, "data_dir = \"unterminated\n");
    assertThatThrownBy(() -> ConfigPaths.dataDir(f)).isInstanceOf(ConfigException.class).hasMessageContaining("bad.toml");
    assertThatThrownBy(() -> ConfigPaths.dataDir(dir.resolve("missing.toml"))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot read");
  }
}
