package org.darwinmail.admin.settings;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.config.ConfigException;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.MtaStsConfig;
import org.darwinmail.store.Addresses;
import org.darwinmail.store.AtomicFile;
import org.darwinmail.store.Directory;
import org.darwinmail.store.RefusedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.toml.TomlMapper;

/**
 * The one path by which settings are changed: {@link #check} validates a whole {@link Settings} document before
 * anything is written, {@link #apply} then makes the directory and {@code <data_dir>/settings.toml} say what it
 * says. Applying is idempotent (what is already so is left alone, and an unchanged {@code settings.toml} is not
 * rewritten), so an apply cut short (a crash between the directory and the file) is finished by applying the same
 * document again. The wizard uses it today; the CLI and the appliance's first boot (OVF properties) are to build a
 * {@link Settings} and call the same method.
 */
public final class SettingsEngine {
  private static final Logger log = LoggerFactory.getLogger(SettingsEngine.class);
  private static final TomlMapper TOML = TomlMapper.builder().build();

  private final Path dataDir;
  private final Directory directory;

  public SettingsEngine(Path dataDir, Directory directory) {
    this.dataDir = dataDir;
    this.directory = directory;
  }

  /** Thrown for a document that cannot be applied; the message is a sentence for the person who typed it. */
  public static final class Invalid extends RuntimeException {
    public final String field;

    public Invalid(String field, String message) {
      super(message);
      this.field = field;
    }
  }

  public Path file() {
    return dataDir.resolve(ConfigLoader.RUNTIME_SETTINGS);
  }

  /** A host name: a valid DNS name of at least two labels (a bare label is no name the Internet can reach). */
  public static String checkHostname(String hostname) {
    String h = hostname == null ? "" : hostname.strip().toLowerCase(java.util.Locale.ROOT);
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    if (h.isEmpty()) {
      throw new Invalid("hostname", "Enter the server's host name, for example mail.example.com.");
    }
    if (!h.contains(".")) {
      throw new Invalid("hostname", "\"" + h + "\" is a bare name: enter a full name such as mail." + h + ".com.");
    }
    try {
      return Addresses.validDomain(h);
    } catch (RuntimeException e) {
      throw new Invalid("hostname", "\"" + h + "\" is not a valid host name: " + e.getMessage());
    }
  }

  /** A mail domain: a valid DNS name of at least two labels. */
  public static String checkDomain(String domain) {
    String d = domain == null ? "" : domain.strip().toLowerCase(java.util.Locale.ROOT);
    if (d.isEmpty()) {
      throw new Invalid("domain", "Enter the mail domain, for example example.com.");
    }
    if (!d.contains(".")) {
      throw new Invalid("domain", "\"" + d + "\" is a bare name: enter a full domain such as " + d + ".com.");
    }
    try {
      return Addresses.validDomain(d);
    } catch (RuntimeException e) {
      throw new Invalid("domain", "\"" + d + "\" is not a valid domain: " + e.getMessage());
    }
  }

  /** Validates the whole document; returns it normalised. Nothing is written. */
  public Settings check(Settings s) {
    String host = s.hostname() == null ? null : checkHostname(s.hostname());
    String domain = s.domain() == null ? null : checkDomain(s.domain());
    String mailbox = null;
    if (s.mailbox() != null) {
      if (domain == null) {
        throw new Invalid("mailbox", "Give the mail domain before the first mailbox.");
      }
      try {
        mailbox = Addresses.validAddress(s.mailbox().contains("@") ? s.mailbox() : s.mailbox() + "@" + domain);
      } catch (RuntimeException e) {
        throw new Invalid("mailbox", "\"" + s.mailbox() + "\" is not a valid address: " + e.getMessage());
      }
      if (!Addresses.domainOf(mailbox).equals(domain)) {
        throw new Invalid("mailbox", "The first mailbox must be in " + domain + ".");
      }
      boolean exists = directory.account(mailbox).isPresent();
      if (!exists && (s.mailboxPassword() == null || s.mailboxPassword().length < 8)) {
        throw new Invalid("password", "The mailbox password needs at least 8 characters.");
      }
    }
    List<String> aliases = new ArrayList<>();
    for (String a : s.aliases()) {
      if (mailbox == null) {
        throw new Invalid("aliases", "Aliases need the first mailbox.");
      }
      String address = Addresses.validAddress(a + "@" + domain);
      if (!address.equals(mailbox)) {
        aliases.add(Addresses.localPartOf(address));
      }
    }
    MtaStsConfig mtaSts = s.mtaSts() == null ? null : checkMtaSts(s.mtaSts(), domain);
    if (host != null || mtaSts != null) {
      // a value the configuration loader refuses is refused here, before anything is written
      settingsText(host, mtaSts);
    }
    return new Settings(host, domain, mailbox, s.mailboxPassword(), aliases, mtaSts);
  }

  /**
   * The MTA-STS setting: each of its domains a mail domain (in the directory, or the document's own domain); mode
   * and max_age as {@link MtaStsConfig} checks them (RFC 8461 §3.2).
   */
  private MtaStsConfig checkMtaSts(MtaStsConfig m, String documentDomain) {
    List<String> domains = new ArrayList<>();
    for (String d : m.domains()) {
      String name = checkDomain(d);
      if (!name.equals(documentDomain) && !directory.domains().contains(name)) {
        throw new Invalid("mta_sts", name + " is not a mail domain of this server: add it first.");
      }
      domains.add(name);
    }
    try {
      return new MtaStsConfig(domains, m.mode(), m.maxAge());
    } catch (ConfigException e) {
      throw new Invalid("mta_sts", e.getMessage());
    }
  }

  /**
   * Validates, then makes it so: the domain, the mailbox, its aliases (each only when missing), then the host name
   * in {@code settings.toml} (written atomically, and only when its text changes). Returns what changed, in words.
   */
  public List<String> apply(Settings document, String who) {
    Settings s = check(document);
    List<String> done = new ArrayList<>();
    try {
      if (s.domain() != null && !directory.domains().contains(s.domain())) {
        directory.addDomain(s.domain());
        done.add("added domain " + s.domain());
      }
      if (s.mailbox() != null && directory.account(s.mailbox()).isEmpty()) {
        directory.addAccount(s.mailbox(), s.mailboxPassword());
        done.add("created mailbox " + s.mailbox());
      }
      for (String a : s.aliases()) {
        String source = a + "@" + s.domain();
        if (!directory.aliasesOf(s.mailbox()).contains(source)
            && !directory.aliases().getOrDefault(source, List.of()).contains(s.mailbox())) {
          directory.addAlias(source, List.of(s.mailbox()));
          done.add("added alias " + source + " -> " + s.mailbox());
        }
      }
    } catch (RefusedException e) {
      throw new Invalid("directory", e.getMessage());
    }
    if (s.hostname() != null || s.mtaSts() != null) {
      String text = settingsText(s.hostname(), s.mtaSts());
      String old = read();
      if (!text.equals(old)) {
        AtomicFile.write(file(), text.getBytes(StandardCharsets.UTF_8));
        if (s.hostname() != null && !s.hostname().equals(storedHostname(old))) {
          done.add("hostname set to " + s.hostname() + " in " + file().getFileName());
        }
        if (s.mtaSts() != null) {
          done.add("MTA-STS " + (s.mtaSts().domains().isEmpty() ? "off"
              : s.mtaSts().mode() + " (max_age " + s.mtaSts().maxAge() + ") for "
              + String.join(", ", s.mtaSts().domains())) + " in " + file().getFileName());
        }
      }
    }
    for (String d : done) {
      log.info("settings: {} (by {})", d, who);
    }
    return done;
  }

  /** The host name stored in settings.toml, or null. */
  public String storedHostname() {
    return storedHostname(read());
  }

  private static String storedHostname(String text) {
    if (text == null) {
      return null;
    }
    JsonNode n = TOML.readTree(text).get("hostname");
    return n == null ? null : n.asString();
  }

  private String read() {
    try {
      return Files.exists(file()) ? Files.readString(file()) : null;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * settings.toml with {@code hostname} and the {@code [mta_sts]} table set (each when not null) and every other key
   * kept; checked by the configuration loader.
   */
  private String settingsText(String hostname, MtaStsConfig mtaSts) {
    String old = read();
    ObjectNode tree = old == null ? TOML.createObjectNode() : (ObjectNode) TOML.readTree(old);
    if (hostname != null) {
      tree.put("hostname", hostname);
    }
    if (mtaSts != null) {
      ObjectNode m = TOML.createObjectNode();
      m.put("mode", mtaSts.mode());
      m.put("max_age", mtaSts.maxAge());
      var list = m.putArray("domains");
      mtaSts.domains().forEach(list::add);
      tree.set("mta_sts", m);
    }
    String text = TOML.writeValueAsString(tree);
    try {
      ConfigLoader.parse(text);
    } catch (ConfigException e) {
      throw new Invalid("settings", e.getMessage());
    }
    return text;
  }
}
