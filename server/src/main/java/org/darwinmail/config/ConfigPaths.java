package org.darwinmail.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.dataformat.toml.TomlFactory;

/**
 * Where the configuration and the data directory are, without loading the whole configuration: the CLI finds the
 * running server's control socket through this (ARCHITECTURE.md, "The CLI and the control socket"), and a command
 * forwarded there must not pay for binding every section (issue 22). Same TOML parser as {@link ConfigLoader}, its
 * streaming half only.
 */
public final class ConfigPaths {
  /** The configuration file when {@code --config} is not given (the appliance's). */
  public static final String DEFAULT_FILE = "/etc/darwinmail/darwinmail.toml";
  /** {@code data_dir} when the file does not set it, relative to the file's folder. */
  public static final String DEFAULT_DATA_DIR = "var";

  private ConfigPaths() {}

  /**
   * The data directory {@code file} names (its top-level {@code data_dir}, resolved against the file's folder).
   * Throws {@link ConfigException} when the file cannot be read or parsed; {@link ConfigLoader#load} says more.
   */
  public static Path dataDir(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
    }
    String dir = DEFAULT_DATA_DIR;
    try (JsonParser p = new TomlFactory().createParser(ObjectReadContext.empty(), text)) {
      if (p.nextToken() == JsonToken.START_OBJECT) {
        for (JsonToken t = p.nextToken(); t == JsonToken.PROPERTY_NAME; t = p.nextToken()) {
          String name = p.currentName();
          JsonToken v = p.nextToken();
          if ("data_dir".equals(name) && v == JsonToken.VALUE_STRING) {
            dir = p.getString();
          } else {
            p.skipChildren();
          }
        }
      }
    } catch (JacksonException e) {
      throw new ConfigException(file + ": " + e.getOriginalMessage(), e);
    }
    return resolve(file, Path.of(dir));
  }

  /** A relative data_dir is relative to the configuration file's folder. */
  static Path resolve(Path file, Path dataDir) {
    if (dataDir.isAbsolute()) {
      return dataDir;
    }
    return file.toAbsolutePath().getParent().resolve(dataDir).normalize();
  }
}
