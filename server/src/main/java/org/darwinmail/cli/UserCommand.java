package org.darwinmail.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.darwinmail.store.Account;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code darwinmail user add|list|remove|passwd|quota}: mail accounts. */
@Command(name = "user", description = "Manage mail accounts.", subcommands = {
    UserCommand.Add.class, UserCommand.ListUsers.class, UserCommand.Remove.class, UserCommand.Passwd.class,
    UserCommand.Quota.class})
final class UserCommand {
  @ParentCommand
  Main main;

  /** Reads the password: the first line of stdin with --password-stdin, else asked twice on the terminal. */
  static char[] password(Main main, boolean fromStdin) {
    if (fromStdin) {
      try {
        String line = new BufferedReader(new InputStreamReader(main.cli.stdin, StandardCharsets.UTF_8)).readLine();
        if (line == null || line.isEmpty()) {
          throw new CliException("no password on standard input");
        }
        return line.toCharArray();
      } catch (IOException e) {
        throw new CliException("cannot read the password: " + e.getMessage());
      }
    }
    Console c = System.console();
    if (c == null || main.cli.server() != null) {
      throw new CliException("no terminal to ask for the password: use --password-stdin");
    }
    char[] a = c.readPassword("Password: ");
    char[] b = c.readPassword("Again: ");
    if (a == null || a.length == 0 || !Arrays.equals(a, b)) {
      throw new CliException("the passwords are empty or differ");
    }
    return a;
  }

  static char[] checked(char[] pw) {
    if (pw.length < 4) {
      throw new CliException("a password needs at least 4 characters");
    }
    return pw;
  }

  @Command(name = "add", description = "Create an account with INBOX, Sent, Drafts, Trash, Junk and Archive.")
  static final class Add implements Callable<Integer> {
    @ParentCommand
    UserCommand parent;
    @Parameters(paramLabel = "ADDRESS")
    String address;
    @Option(names = "--password-stdin", description = "Read the password from the first line of standard input.")
    boolean stdin;

    @Override
    public Integer call() {
      Main.services(parent.main).directory().addAccount(address, checked(password(parent.main, stdin)));
      return 0;
    }
  }

  @Command(name = "list", description = "List the accounts with their quota and usage.")
  static final class ListUsers implements Callable<Integer> {
    @ParentCommand
    UserCommand parent;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
      if (!Main.hasData(parent.main, spec)) {
        return 0;
      }
      var s = Main.services(parent.main);
      for (Account a : s.directory().accounts()) {
        spec.commandLine().getOut().printf("%s\tused=%d\tquota=%s%n", a.address(), s.mail().usage(a.id()),
            a.quotaBytes() == 0 ? "none" : Long.toString(a.quotaBytes()));
      }
      return 0;
    }
  }

  @Command(name = "remove", description = "Remove an account and all its mail.")
  static final class Remove implements Callable<Integer> {
    @ParentCommand
    UserCommand parent;
    @Parameters(paramLabel = "ADDRESS")
    String address;

    @Override
    public Integer call() {
      Main.services(parent.main).directory().removeAccount(address);
      return 0;
    }
  }

  @Command(name = "passwd", description = "Change an account's password.")
  static final class Passwd implements Callable<Integer> {
    @ParentCommand
    UserCommand parent;
    @Parameters(paramLabel = "ADDRESS")
    String address;
    @Option(names = "--password-stdin", description = "Read the password from the first line of standard input.")
    boolean stdin;

    @Override
    public Integer call() {
      Main.services(parent.main).directory().setPassword(address, checked(password(parent.main, stdin)));
      return 0;
    }
  }

  @Command(name = "quota", description = "Set an account's quota in bytes (0: none); suffixes K, M, G.")
  static final class Quota implements Callable<Integer> {
    @ParentCommand
    UserCommand parent;
    @Parameters(index = "0", paramLabel = "ADDRESS")
    String address;
    @Parameters(index = "1", paramLabel = "BYTES")
    String bytes;

    @Override
    public Integer call() {
      Main.services(parent.main).directory().setQuota(address, parseBytes(bytes));
      return 0;
    }

    static long parseBytes(String s) {
      String t = s.strip().toUpperCase(java.util.Locale.ROOT);
      long mult = 1;
      if (t.endsWith("K") || t.endsWith("M") || t.endsWith("G")) {
        mult = switch (t.charAt(t.length() - 1)) {
          case 'K' -> 1024L;
          case 'M' -> 1024L * 1024;
          default -> 1024L * 1024 * 1024;
        };
        t = t.substring(0, t.length() - 1);
      }
      try {
        return Math.multiplyExact(Long.parseLong(t), mult);
      } catch (NumberFormatException | ArithmeticException e) {
        throw new CliException("not a size: " + s);
      }
    }
  }
}
