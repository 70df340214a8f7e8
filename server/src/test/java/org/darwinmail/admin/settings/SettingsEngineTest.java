package org.darwinmail.admin.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.MtaStsConfig;
import org.darwinmail.config.ServerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one settings path: validated before anything is written, idempotent, settings.toml replaced whole. */
class SettingsEngineTest {
  @TempDir
  Path dir;
  DarwinMail.Services services;
  SettingsEngine engine;

  @BeforeEach
  void open() {
    services = DarwinMail.Services.open(ServerConfig.defaults(dir));
    engine = new SettingsEngine(dir, services.directory());
  }

  @AfterEach
  void close() {
    services.close();
  }

  private static Settings whole() {
    return new Settings("Mail.Example.Test.", "Example.Test", "ada", "mailbox-pw".toCharArray(),
        List.of("postmaster", "abuse"));
  }

  private Path config() throws Exception {
    Path c = dir.resolve("darwinmail.toml");
    Files.writeString(c, "hostname = \"image-default\"\ndata_dir = \"" + dir + "\"\n");
    return c;
  }

  @Test
  void applyMakesTheDirectoryAndSettingsFileSayWhatTheDocumentSays() throws Exception {
    List<String> done = engine.apply(whole(), "test");
    assertThat(done).hasSize(5);
    assertThat(services.directory().domains()).containsExactly("example.test");
    assertThat(services.directory().account("ada@example.test")).isPresent();
    assertThat(services.directory().resolve("abuse@example.test").accounts()).extracting(a -> a.address())
        .containsExactly("ada@example.test");
    assertThat(ConfigLoader.load(config()).hostname()).isEqualTo("mail.example.test");
    assertThat(engine.storedHostname()).isEqualTo("mail.example.test");
  }

  @Test
  void applyingTheSameDocumentAgainChangesNothing() throws Exception {
    engine.apply(whole(), "test");
    long modified = Files.getLastModifiedTime(engine.file()).toMillis();
    String text = Files.readString(engine.file());
    Thread.sleep(20);
    assertThat(engine.apply(whole(), "test")).isEmpty();
    assertThat(Files.readString(engine.file())).isEqualTo(text);
    assertThat(Files.getLastModifiedTime(engine.file()).toMillis()).isEqualTo(modified);
    assertThat(Files.exists(dir.resolve("settings.toml.new"))).isFalse();
  }

  @Test
  void mtaStsIsStoredInTheSettingsFileAndApplyingItTwiceChangesNothing() throws Exception {
    Settings doc = whole().withMtaSts(new MtaStsConfig(List.of("Example.Test"), "enforce", 86400L));
    List<String> done = engine.apply(doc, "test");
    assertThat(done).contains("MTA-STS enforce (max_age 86400) for example.test in settings.toml");
    MtaStsConfig stored = ConfigLoader.load(config()).mtaSts();
    assertThat(stored.domains()).containsExactly("example.test");
    assertThat(stored.mode()).isEqualTo("enforce");
    assertThat(stored.maxAge()).isEqualTo(86400L);
    assertThat(ConfigLoader.load(config()).hostname()).isEqualTo("mail.example.test");
    String text = Files.readString(engine.file());
    long modified = Files.getLastModifiedTime(engine.file()).toMillis();
    Thread.sleep(20);
    assertThat(engine.apply(doc, "test")).isEmpty();
    assertThat(Files.readString(engine.file())).isEqualTo(text);
    assertThat(Files.getLastModifiedTime(engine.file()).toMillis()).isEqualTo(modified);
    // a document without MTA-STS leaves it as it is
    engine.apply(new Settings("other.example.test", null, null, null, List.of()), "test");
    assertThat(ConfigLoader.load(config()).mtaSts().domains()).containsExactly("example.test");
  }

  @Test
  void mtaStsForADomainThatIsNotAMailDomainOrABadModeIsRefused() {
    assertThatThrownBy(() -> engine.apply(new Settings(null, null, null, null, List.of(),
        new MtaStsConfig(List.of("elsewhere.test"), "testing", null)), "test"))
        .isInstanceOf(SettingsEngine.Invalid.class).hasMessageContaining("elsewhere.test is not a mail domain");
    assertThatThrownBy(() -> engine.apply(whole().withMtaSts(new MtaStsConfig(List.of("example.test"), "testing",
        MtaStsConfig.MAX_AGE_LIMIT + 1)), "test")).hasMessageContaining("mta_sts.max_age");
    assertThat(Files.exists(engine.file())).isFalse();
  }

  @Test
  void otherKeysOfTheSettingsFileAreKept() throws Exception {
    Files.writeString(engine.file(), "[smtp]\nmax_recipients = 7\n");
    engine.apply(new Settings("mail.example.test", null, null, null, List.of()), "test");
    ServerConfig c = ConfigLoader.load(config());
    assertThat(c.hostname()).isEqualTo("mail.example.test");
    assertThat(c.smtp().maxRecipients()).isEqualTo(7);
  }

  @Test
  void aBareHostNameIsRefusedAndNothingIsWritten() {
    assertThatThrownBy(() -> engine.apply(new Settings("mail", "example.test", null, null, List.of()), "test"))
        .isInstanceOf(SettingsEngine.Invalid.class).hasMessageContaining("bare name");
    assertThat(services.directory().domains()).isEmpty();
    assertThat(Files.exists(engine.file())).isFalse();
  }

  @Test
  void aSettingsFileTheLoaderRefusesIsNotMadeWorse() throws Exception {
    Files.writeString(engine.file(), "no_such_key = 1\n");
    assertThatThrownBy(() -> engine.apply(whole(), "test")).isInstanceOf(SettingsEngine.Invalid.class)
        .hasMessageContaining("no_such_key");
    assertThat(services.directory().domains()).as("nothing applied").isEmpty();
    assertThat(Files.readString(engine.file())).isEqualTo("no_such_key = 1\n");
  }

  @Test
  void aNewMailboxNeedsAPassword() {
    assertThatThrownBy(() -> engine.apply(new Settings(null, "example.test", "ada", null, List.of()), "test"))
        .isInstanceOf(SettingsEngine.Invalid.class).hasMessageContaining("password");
    assertThatThrownBy(() -> engine.apply(new Settings(null, "example.test", "ada@other.test",
        "mailbox-pw".toCharArray(), List.of()), "test")).hasMessageContaining("must be in example.test");
  }
}
