package org.darwinmail.cli;

import java.nio.file.Path;
import org.darwinmail.config.ConfigPaths;

/**
 * What the client side must know of a command line before sending it, as typed, to a running server (issue 22;
 * ARCHITECTURE.md, "The CLI and the control socket"): the configuration file and whether the command reads standard
 * input. Read without picocli, whose model of every command costs a command for a running server more than the rest
 * of its work (170 classes and their annotations); the server parses the line itself, so a usage error is still
 * picocli's answer. A line this scan is not sure of is parsed here first, as before.
 *
 * @param config the {@code --config} file, else the default
 * @param readsStdin {@code --password-stdin} is on the line
 */
record TypedLine(Path config, boolean readsStdin) {
  /**
   * The line's configuration and stdin use, or null when it must be parsed here: no command, {@code serve}, help or
   * version, an option before the command other than {@code --config}, an {@code @file} argument (picocli expands
   * it), or {@code --} before the command.
   */
  static TypedLine scan(String[] args) {
    String config = ConfigPaths.DEFAULT_FILE;
    boolean stdin = false;
    String command = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--")) {
        break; // what follows is positional
      }
      if (a.startsWith("@") || a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version")) {
        return null;
      }
      if (a.equals("-c") || a.equals("--config")) {
        if (++i == args.length) {
          return null;
        }
        config = args[i];
      } else if (a.startsWith("--config=")) {
        config = a.substring("--config=".length());
      } else if (a.startsWith("-c") && !a.startsWith("--")) {
        config = a.substring(a.startsWith("-c=") ? 3 : 2);
      } else if (a.equals("--password-stdin")) {
        stdin = true;
      } else if (command == null) {
        if (a.startsWith("-")) {
          return null;
        }
        command = a;
      }
    }
    if (command == null || command.equals("serve") || config.isEmpty()) {
      return null;
    }
    try {
      return new TypedLine(Path.of(config), stdin);
    } catch (java.nio.file.InvalidPathException e) {
      return null; // picocli's conversion says what is wrong with it
    }
  }

  /**
   * The configuration file of a line that is {@code serve} and {@code --config} options only (in any order; the
   * service's and the launcher's form), or null for any other line, which picocli parses: the server starts without
   * building picocli's model of every command (issue 22: 0.8 s of CPU at a start, before the greeting).
   */
  static Path serveConfig(String[] args) {
    String config = ConfigPaths.DEFAULT_FILE;
    boolean serve = false;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("-c") || a.equals("--config")) {
        if (++i == args.length) {
          return null;
        }
        config = args[i];
      } else if (a.startsWith("--config=")) {
        config = a.substring("--config=".length());
      } else if (a.startsWith("-c") && !a.startsWith("--") && a.length() > 2) {
        config = a.substring(a.startsWith("-c=") ? 3 : 2);
      } else if (a.equals("serve") && !serve) {
        serve = true;
      } else {
        return null;
      }
    }
    if (!serve || config.isEmpty()) {
      return null;
    }
    try {
      return Path.of(config);
    } catch (java.nio.file.InvalidPathException e) {
      return null; // picocli's conversion says what is wrong with it
    }
  }

  /** {@code darwinmail --version} alone (the launcher's most common probe): answered without picocli. */
  static boolean versionOnly(String[] args) {
    return args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"));
  }
}
