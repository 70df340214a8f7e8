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

  @Test
  void aBrokenFileIsAConfigurationError() throws IOException {
    Path f = dir.resolve("bad.toml");
    Files.writeString(f, "data_dir = \"unterminated\n");
    assertThatThrownBy(() -> ConfigPaths.dataDir(f)).isInstanceOf(ConfigException.class).hasMessageContaining("bad.toml");
    assertThatThrownBy(() -> ConfigPaths.dataDir(dir.resolve("missing.toml"))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot read");
  }
}
