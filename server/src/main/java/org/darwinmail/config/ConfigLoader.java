package org.darwinmail.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.toml.TomlMapper;

/**
 * Loads the configuration: the file given with {@code --config} holds defaults, and
 * {@code <data_dir>/settings.toml} (written by the wizard, admin UI and CLI at run time) overrides it key by key
 * (ARCHITECTURE.md, "Configuration"). Unknown keys and bad values are errors naming the key.
 */
public final class ConfigLoader {
  /** The runtime settings file, relative to the data directory. */
  public static final String RUNTIME_SETTINGS = org.darwinmail.store.DataDir.SETTINGS;

  /** Reads the TOML into a tree only; {@link TomlBinding} makes the records of it. */
  private static final TomlMapper MAPPER = new TomlMapper();

  private ConfigLoader() {}

  public static ServerConfig load(Path file) {
    JsonNode tree = readTree(file);
    ServerConfig base = bind(tree, file.toString());
    Path dataDir = resolveDataDir(file, base.dataDir());
    Path runtime = org.darwinmail.store.DataDir.of(dataDir).settings();
    if (Files.exists(runtime)) {
      JsonNode overlay = readTree(runtime);
      merge((ObjectNode) tree, overlay);
      base = bind(tree, runtime.toString());
    }
    return withDataDir(base, dataDir);
  }

  /** Parses TOML text; for tests and the shipped example. */
  public static ServerConfig parse(String toml) {
    try {
      return bind(MAPPER.readTree(toml), "<string>");
    } catch (JacksonException e) {
      throw new ConfigException(syntaxError("configuration", e), e);
    }
  }

  private static JsonNode readTree(Path file) {
    try {
      String text = Files.readString(file);
      JsonNode node = MAPPER.readTree(text);
      return node == null || node.isMissingNode() ? MAPPER.createObjectNode() : node;
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
    } catch (JacksonException e) {
      throw new ConfigException(syntaxError(file.toString(), e), e);
    }
  }

  /** A TOML syntax error in one line, "FILE:LINE: message (column N)", as compilers and editors read them. */
  private static String syntaxError(String source, JacksonException e) {
    var at = e.getLocation();
    String msg = String.valueOf(e.getOriginalMessage()).strip().replaceAll("\\s*\\R\\s*", " ");
    if (at == null || at.getLineNr() <= 0) {
      return source + ": " + msg;
    }
    return source + ":" + at.getLineNr() + ": " + msg + (at.getColumnNr() > 0 ? " (column " + at.getColumnNr() + ")" : "");
  }

  private static ServerConfig bind(JsonNode tree, String source) {
    try {
      return TomlBinding.bind(tree, ServerConfig.class, "");
    } catch (ConfigException e) {
      throw new ConfigException(source + ": " + e.getMessage(), e);
    }
  }

  private static void merge(ObjectNode base, JsonNode overlay) {
    for (var e : overlay.properties()) {
      JsonNode existing = base.get(e.getKey());
      if (existing instanceof ObjectNode eo && e.getValue().isObject()) {
        merge(eo, e.getValue());
      } else {
        base.set(e.getKey(), e.getValue());
      }
    }
  }

  /** A relative data_dir is relative to the configuration file's folder. */
  private static Path resolveDataDir(Path file, Path dataDir) {
    return ConfigPaths.resolve(file, dataDir);
  }

  private static ServerConfig withDataDir(ServerConfig c, Path d) {
    return new ServerConfig(c.hostname(), d, c.listen(), c.dns(), c.tls(), c.smtp(), c.imap(), c.pop3(),
        c.delivery(), c.guard(), c.store(), c.blobs(), c.backup(), c.mtaSts());
  }
}
