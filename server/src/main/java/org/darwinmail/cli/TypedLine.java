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
    String[] config = {ConfigPaths.DEFAULT_FILE};
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
      int last = configOption(args, i, config);
      if (last == args.length) {
        return null;
      } else if (last >= 0) {
        i = last;
      } else if (a.equals("--password-stdin")) {
        stdin = true;
      } else if (command == null) {
        if (a.startsWith("-")) {
          return null;
        }
        command = a;
      }
    }
    if (command == null || command.equals("serve") || config[0].isEmpty()) {
      return null;
    }
    try {
      return new TypedLine(Path.of(config[0]), stdin);
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
    String[] config = {ConfigPaths.DEFAULT_FILE};
    boolean serve = false;
    for (int i = 0; i < args.length; i++) {
      int last = configOption(args, i, config);
      if (last == args.length) {
        return null;
      } else if (last >= 0) {
        i = last;
      } else if (args[i].equals("serve") && !serve) {
        serve = true;
      } else {
        return null;
      }
    }
    if (!serve || config[0].isEmpty()) {
      return null;
    }
    try {
      return Path.of(config[0]);
    } catch (java.nio.file.InvalidPathException e) {
      return null; // picocli's conversion says what is wrong with it
    }
  }

  /**
   * A {@code --config} option at {@code args[i]} ({@code -c F}, {@code --config F}, {@code --config=F}, {@code -cF},
   * {@code -c=F}): its value goes into {@code config[0]}; returns the index of the option's last word, -1 when
   * {@code args[i]} is no such option, or {@code args.length} when its value is missing.
   */
  private static int configOption(String[] args, int i, String[] config) {
    String a = args[i];
    if (a.equals("-c") || a.equals("--config")) {
      if (i + 1 == args.length) {
        return args.length;
      }
      config[0] = args[i + 1];
      return i + 1;
    }
    if (a.startsWith("--config=")) {
      config[0] = a.substring("--config=".length());
      return i;
    }
    if (a.startsWith("-c") && !a.startsWith("--")) {
      config[0] = a.substring(a.startsWith("-c=") ? 3 : 2);
      return i;
    }
    return -1;
  }

  /** {@code darwinmail --version} alone (the launcher's most common probe): answered without picocli. */
  static boolean versionOnly(String[] args) {
    return args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"));
  }
}
