package org.darwinmail.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir
  Path dir;

  @Test
  void theShippedExampleLoadsAndMeansTheDefaults() throws Exception {
    Path example = Path.of("..", "conf", "darwinmail.toml.example");
    ServerConfig c = ConfigLoader.load(example);
    assertThat(c.hostname()).isEqualTo("mail.example.test");
    assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/darwinmail"));
    assertThat(c.listen().smtp()).isEqualTo("0.0.0.0:25");
    assertThat(c.listen().imaps()).isEqualTo("0.0.0.0:993");
    assertThat(c.smtp()).isEqualTo(SmtpConfig.defaults());
    assertThat(c.imap()).isEqualTo(ImapConfig.defaults());
    assertThat(c.pop3()).isEqualTo(Pop3Config.defaults());
    assertThat(c.backup()).isEqualTo(org.darwinmail.config.BackupConfig.defaults());
    assertThat(c.delivery().lease()).isEqualTo(java.time.Duration.ofMinutes(2));
  }

  @Test
  void theQueueLeaseIsSecondsWithinBounds() throws Exception {
    assertThat(ConfigLoader.load(write("[delivery]\nlease_seconds = 15\n")).delivery().lease())
        .isEqualTo(java.time.Duration.ofSeconds(15));
    assertThatThrownBy(() -> ConfigLoader.load(write("[delivery]\nlease_seconds = 1\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("delivery.lease_seconds");
  }

  @Test
  void anUnknownKeyIsAnErrorNamingIt() throws Exception {
    Path f = write("hostname = \"a.test\"\n[smtp]\nmax_recipientz = 5\n");
    assertThatThrownBy(() -> ConfigLoader.load(f)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown key").hasMessageContaining("max_recipientz");
  }

  @Test
  void anUnknownSectionIsAnError() throws Exception {
    Path f = write("[smpt]\nmax_recipients = 5\n");
    assertThatThrownBy(() -> ConfigLoader.load(f)).isInstanceOf(ConfigException.class).hasMessageContaining("smpt");
  }

  @Test
  void aBadValueIsAnErrorNamingTheKey() throws Exception {
    assertThatThrownBy(() -> ConfigLoader.load(write("[smtp]\nmax_line_length = 10\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("smtp.max_line_length");
    assertThatThrownBy(() -> ConfigLoader.load(write("[listen]\nsmtp = \"nonsense\"\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("listen.smtp");
    assertThatThrownBy(() -> ConfigLoader.load(write("[smtp]\nmax_recipients = \"many\"\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("max_recipients");
    assertThatThrownBy(() -> ConfigLoader.load(write("hostname = = 3\n")))
        .isInstanceOf(ConfigException.class);
  }

  @Test
  void everyKindOfValueIsReadAndAWrongTypeNamesTheKeyAndWhatWasFound() throws Exception {
    ServerConfig c = ConfigLoader.load(write("data_dir = \"d\"\n[delivery]\nretry_seconds = [60, 300]\n"
        + "[dns]\nservers = [\"127.0.0.1:5353\"]\n[guard.send]\nallowlist = [\"Bulk@X.test\"]\n"
        + "[guard.send.accounts.\"Big@X.test\"]\nmessages_per_hour = 5000\n"
        + "[imap]\nplaintext_on_loopback = false\n[smtp]\nmax_message_size = 3000000\nmax_recipients = \"7\"\n"));
    assertThat(c.dataDir()).isEqualTo(dir.resolve("d"));
    assertThat(c.delivery().retrySeconds()).containsExactly(60, 300);
    assertThat(c.dns().servers()).containsExactly("127.0.0.1:5353");
    assertThat(c.guard().send().allowlist()).containsExactly("bulk@x.test");
    assertThat(c.guard().send().accounts().get("big@x.test").messagesPerHour()).isEqualTo(5000);
    assertThat(c.imap().plaintextOnLoopback()).isFalse();
    assertThat(c.smtp().maxMessageSize()).isEqualTo(3_000_000L);
    assertThat(c.smtp().maxRecipients()).isEqualTo(7); // a number in a string, as before
    String[][] wrong = {
        {"[smtp]\nmax_recipients = 1.5\n", "smtp.max_recipients: expected an integer, not 1.5"},
        {"[smtp]\nmax_recipients = 3000000000\n", "smtp.max_recipients: 3000000000 is out of range"},
        {"[imap]\nplaintext_on_loopback = \"yes\"\n",
            "imap.plaintext_on_loopback: expected true or false, not \"yes\""},
        {"[dns]\nservers = \"127.0.0.1\"\n", "dns.servers: expected an array, not \"127.0.0.1\""},
        {"smtp = 5\n", "smtp: expected a table, not 5"},
        {"[delivery]\nretry_seconds = [60, \"soon\"]\n",
            "delivery.retry_seconds[1]: expected an integer, not \"soon\""},
        {"[guard.send.accounts.\"a@x.test\"]\nmessages_per_hours = 1\n",
            "unknown key \"guard.send.accounts.\"a@x.test\".messages_per_hours\""}};
    for (String[] w : wrong) {
      Path f = write(w[0]);
      assertThatThrownBy(() -> ConfigLoader.load(f)).isInstanceOf(ConfigException.class)
          .hasMessage(f + ": " + w[1]);
    }
  }

  @Test
  void theStoreEngineIsDerbyByDefaultOrACompletePostgresqlSection() throws Exception {
    assertThat(ConfigLoader.load(write("[store]\ndisk_reserve_mb = 5\n")).store().engine()).isEqualTo("derby");
    assertThat(ConfigLoader.load(write("[store]\nengine = \"derby\"\n")).store().engine()).isEqualTo("derby");
    assertThatThrownBy(() -> ConfigLoader.load(write("[store]\nengine = \"mysql\"\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("store.engine").hasMessageContaining("mysql");
    assertThatThrownBy(() -> ConfigLoader.load(write("[store]\nurl = \"jdbc:postgresql://db/mail\"\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("postgresql\" only");
    assertThatThrownBy(() -> ConfigLoader.load(write("[store]\nengine = \"postgresql\"\nurl = \"db:5432\"\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("store.url")
        .hasMessageContaining("jdbc:postgresql://");
    assertThatThrownBy(() -> ConfigLoader.load(write("[store]\nengine = \"postgresql\"\n"
        + "url = \"jdbc:postgresql://db/mail\"\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("needs user and password_file");
    assertThatThrownBy(() -> ConfigLoader.load(write("[store]\npassword_fil = \"x\"\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("unknown key").hasMessageContaining("password_fil");
    // A complete PostgreSQL section loads; its password file must be readable, as blobs.credentials_file.
    String pg = "[store]\nengine = \"postgresql\"\nurl = \"jdbc:postgresql://db.example.test/mail\"\n"
        + "user = \"darwin\"\npool_size = 4\n";
    assertThatThrownBy(() -> ConfigLoader.load(write(pg + "password_file = \"" + dir.resolve("nope") + "\"\n")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("store.password_file")
        .hasMessageNotContaining("\n");
    Path pw = Files.writeString(dir.resolve("pg-password"), "secret\n");
    var store = ConfigLoader.load(write(pg + "password_file = \"" + pw + "\"\n")).store();
    assertThat(store.postgresql()).isTrue();
    assertThat(store.url()).isEqualTo("jdbc:postgresql://db.example.test/mail");
    assertThat(store.poolSize()).isEqualTo(4);
  }

  @Test
  void relativeDataDirIsRelativeToTheFileAndRuntimeSettingsWin() throws Exception {
    Path f = write("hostname = \"base.test\"\ndata_dir = \"data\"\n[smtp]\nmax_recipients = 7\nmax_errors = 3\n");
    Files.createDirectories(dir.resolve("data"));
    Files.writeString(dir.resolve("data").resolve(ConfigLoader.RUNTIME_SETTINGS),
        "hostname = \"wizard.test\"\n[smtp]\nmax_recipients = 9\n");
    ServerConfig c = ConfigLoader.load(f);
    assertThat(c.dataDir()).isEqualTo(dir.resolve("data"));
    assertThat(c.hostname()).isEqualTo("wizard.test");
    assertThat(c.smtp().maxRecipients()).isEqualTo(9);
    assertThat(c.smtp().maxErrors()).isEqualTo(3);
  }

  @Test
  void aSyntaxErrorNamesFileAndLineInOneLine() throws Exception {
    String[] broken = {
        "hostname = \"a.test\"\n\n[smtp]\nmax_recipients = = 5\n",    // line 4: two '='
        "hostname = \"a.test\"\n[smtp\nmax_recipients = 5\n",         // line 2: unclosed table header
        "hostname = \"a.test\"\n# a comment\n[smtp]\nx = \"open\n"};   // line 4: unterminated string
    int[] lines = {4, 2, 4};
    for (int i = 0; i < broken.length; i++) {
      Path f = write(broken[i]);
      String expected = f + ":" + lines[i] + ": ";
      // for example "/etc/darwinmail/darwinmail.toml:4: Unknown token (column 18)"
      assertThatThrownBy(() -> ConfigLoader.load(f)).isInstanceOf(ConfigException.class)
          .satisfies(e -> assertThat(e.getMessage()).startsWith(expected).doesNotContain("\n"));
    }
  }

  @Test
  void aMissingFileIsAClearError() {
    assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("nope.toml")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("cannot read");
  }

  private Path write(String toml) throws Exception {
    Path f = Files.createTempFile(dir, "c", ".toml");
    Files.writeString(f, toml);
    return f;
  }
}
