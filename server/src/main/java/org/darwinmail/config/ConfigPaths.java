package org.darwinmail.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.dataformat.toml.TomlFactory;

/**
 * Where the configuration and the data directory are, without loading the whole configuration: the CLI finds the
 * running server's control socket through this (ARCHITECTURE.md, "The CLI and the control socket"), and a command
 * forwarded there must not pay for binding every section, nor for loading the TOML parser when a scan of the top
 * level's lines decides (issue 22).
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
    Top top = scan(text);
    String dir = top != null ? top.dataDir() : Parsed.dataDir(file, text);
    return resolve(file, Path.of(dir == null ? DEFAULT_DATA_DIR : dir));
  }

  /** What {@link #scan} decided: the top-level {@code data_dir}, or null when the file does not set it. */
  record Top(String dataDir) {}

  private static final Pattern BARE_KEY = Pattern.compile("[A-Za-z0-9_-]+");
  private static final Pattern HEX = Pattern.compile("[0-9A-Fa-f]+");

  /**
   * The top-level {@code data_dir} found by a scan of the file's lines instead of the TOML parser: loading and
   * running the parser was 70-90 ms of a forwarded command's 0.3 s (issue 22). It decides only when it understood
   * every line before the first table header: blank, a comment, or {@code key = "value"} on one line with a bare key
   * and a one-line string (basic with TOML 1.0's escapes, or literal), as the top level's two keys are written.
   * Anything else (a quoted or dotted key, another kind of value, a multi-line string, an escape it does not know, a
   * key set twice, a byte-order mark) gives null and the parser decides, so the two agree on the top level
   * (ConfigPathsTest). What follows the first table is not read: a mistake there no longer keeps a command from the
   * running server, which read the file when it started; {@code serve} and a command run locally report it.
   */
  static Top scan(String text) {
    if (text.startsWith("\uFEFF")) {
      return null;
    }
    String found = null;
    Set<String> keys = new HashSet<>();
    int from = 0;
    while (from < text.length()) {
      int nl = text.indexOf('\n', from);
      int end = nl < 0 ? text.length() : nl;
      String line = text.substring(from, end > from && text.charAt(end - 1) == '\r' ? end - 1 : end);
      from = end + 1;
      int i = skipBlank(line, 0);
      if (i == line.length() || line.charAt(i) == '#') {
        continue;
      }
      if (line.charAt(i) == '[') {
        break; // the first table: the top level ends
      }
      int eq = line.indexOf('=', i);
      if (eq < 0) {
        return null;
      }
      String key = line.substring(i, eq).strip();
      if (!BARE_KEY.matcher(key).matches()) {
        return null;
      }
      int v = skipBlank(line, eq + 1);
      if (v == line.length() || line.charAt(v) != '"' && line.charAt(v) != '\'' || line.startsWith("\"\"\"", v)
          || line.startsWith("'''", v)) {
        return null; // not a one-line string (the top level's keys, hostname and data_dir, are strings)
      }
      StringBuilder value = new StringBuilder();
      int after = string(line, v, value);
      if (after < 0) {
        return null;
      }
      after = skipBlank(line, after);
      if (after < line.length() && line.charAt(after) != '#') {
        return null;
      }
      if (!keys.add(key)) {
        return null; // set twice: the parser says what is wrong
      }
      if (key.equals("data_dir")) {
        found = value.toString();
      }
    }
    return new Top(found);
  }

  private static int skipBlank(String line, int i) {
    while (i < line.length() && (line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
      i++;
    }
    return i;
  }

  /**
   * A one-line basic or literal string starting at {@code at}, its value appended to {@code out}: the index after
   * its closing quote, or -1 when it is not one this scan decides (unterminated, a control character, an escape
   * other than TOML 1.0's).
   */
  private static int string(String line, int at, StringBuilder out) {
    char quote = line.charAt(at);
    for (int i = at + 1; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == quote) {
        return i + 1;
      }
      if (c < 0x20 && c != '\t' || c == 0x7f) {
        return -1;
      }
      if (c != '\\' || quote == '\'') {
        out.append(c);
        continue;
      }
      if (++i == line.length()) {
        return -1;
      }
      char e = line.charAt(i);
      switch (e) {
        case 'b' -> out.append('\b');
        case 't' -> out.append('\t');
        case 'n' -> out.append('\n');
        case 'f' -> out.append('\f');
        case 'r' -> out.append('\r');
        case '"' -> out.append('"');
        case '\\' -> out.append('\\');
        case 'u', 'U' -> {
          int n = e == 'u' ? 4 : 8;
          if (i + n >= line.length() || !HEX.matcher(line.substring(i + 1, i + 1 + n)).matches()) {
            return -1;
          }
          long cp = Long.parseLong(line.substring(i + 1, i + 1 + n), 16);
          if (cp > 0x10FFFF || cp >= 0xD800 && cp <= 0xDFFF) {
            return -1;
          }
          out.appendCodePoint((int) cp);
          i += n;
        }
        default -> {
          return -1;
        }
      }
    }
    return -1;
  }

  /**
   * The TOML parser's reading (the same as {@link ConfigLoader}'s, its streaming half), in a class of its own: the
   * JVM loads it, and the parser, only when {@link #scan} leaves the file to it.
   */
  private static final class Parsed {
    static String dataDir(Path file, String text) {
      String dir = null;
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
      return dir;
    }
  }

  /** A relative data_dir is relative to the configuration file's folder. */
  static Path resolve(Path file, Path dataDir) {
    if (dataDir.isAbsolute()) {
      return dataDir;
    }
    return file.toAbsolutePath().getParent().resolve(dataDir).normalize();
  }
}
