package org.darwinmail.cli;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigException;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ConfigPaths;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.release.Release;
import org.darwinmail.store.RefusedException;
import org.darwinmail.store.StoreException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/**
 * {@code darwinmail}: runs the server ({@code serve}) and administers it (ARCHITECTURE.md,
 * "The CLI and the control socket"). Administration works whether or not the server runs: when it runs, the command is
 * sent over its control socket and executed inside it (the embedded database admits one process); otherwise the
 * database is opened here. A command for a running server is sent as it was typed, before picocli is loaded
 * ({@link TypedLine} finds the configuration file), and parsed inside the server; any other line is parsed here, by
 * picocli. Until a command runs locally (never for usage and version) this class touches neither the server's classes
 * nor the logging (issue 22: the client side answers in well under a second).
 * Exit status: 0 success, 1 refused or failed (one line on stderr), 2 usage error.
 */
@Command(name = "darwinmail", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Darwin Mail: a complete mail server.",
    subcommands = {ServeCommand.class, DomainCommand.class, UserCommand.class, AliasCommand.class,
        SenderCommand.class, QueueCommand.class, TraceCommand.class, MtaStsCommand.class, BackupCommand.class, VerifyCommand.class, SetupCommand.class,
        StoreCommand.class})
public final class Main {
  /**
   * Inherited: "darwinmail --config F serve" and "darwinmail serve --config F" both work (ARCHITECTURE.md,
   * "The CLI and the control socket").
   */
  @Option(names = {"-c", "--config"}, description = "Configuration file (TOML). Default: ${DEFAULT-VALUE}",
      defaultValue = ConfigPaths.DEFAULT_FILE, scope = CommandLine.ScopeType.INHERIT)
  Path config;

  /** The services commands use: the running server's, or the database opened by this process. */
  Cli cli;

  public static void main(String[] args) {
    // Issue 22: a command for a running server goes there as typed before anything else is loaded (picocli
    // included): the server parses it. TypedLine declines what must be parsed here (serve, help, @files...).
    TypedLine typed = TypedLine.scan(args);
    if (typed != null) {
      Integer forwarded = ControlClient.forward(typed.config(), Arrays.asList(args), typed.readsStdin(), System.in,
          System.out, System.err);
      if (forwarded != null) {
        System.exit(forwarded);
      }
    } else if (TypedLine.versionOnly(args)) {
      System.out.println(new Version().getVersion()[0]);
      System.exit(0);
    }
    Main main = new Main();
    java.nio.file.Path serveConfig = typed == null ? TypedLine.serveConfig(args) : null;
    if (serveConfig != null) {
      main.config = serveConfig;
      ServeCommand.serve(main);
      return;
    }
    CommandLine cl = commandLine(main, System.out, System.err);
    ParseResult parsed;
    try {
      parsed = cl.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      System.exit(handleParameterError(cl, e, args));
      return;
    }
    ParseResult command = parsed;
    boolean help = false;
    while (true) {
      help |= command.isUsageHelpRequested() || command.isVersionHelpRequested();
      if (!command.hasSubcommand()) {
        break;
      }
      command = command.subcommand();
    }
    boolean serve = command.commandSpec().userObject() instanceof ServeCommand;
    if (!serve) {
      System.setProperty("darwinmail.log.target", "System.err");
      System.setProperty("darwinmail.log.level", "WARN");
    }
    if (!serve && !help && parsed.hasSubcommand() && typed == null) {
      // A line TypedLine was not sure of. Nothing loaded yet but picocli and this package's command classes: no
      // logging, no server class.
      Integer forwarded = ControlClient.forward(main.config, Arrays.asList(args),
          command.hasMatchedOption("--password-stdin"), System.in, System.out, System.err);
      if (forwarded != null) {
        System.exit(forwarded);
      }
    }
    if (help) {
      // Usage or version: printed by picocli, without the server's settings or its logging (DarwinMail's).
      System.exit(executeParsed(cl, parsed, args));
    }
    DarwinMail.prepareJvm();
    int code;
    try (Cli cli = Cli.local()) {
      main.cli = cli;
      code = executeParsed(cl, parsed, args);
    }
    // A server that stopped (SIGTERM) returns 0 and lets the JVM end; one that could not start (a port in use, a
    // bad configuration) must not exit 0: a service manager would take it for a clean stop.
    if (!serve || code != 0) {
      flushLogs();
      System.exit(code);
    }
  }

  /** Writes out the log lines still queued (LogConfig: an asynchronous appender) and stops logging. */
  public static void flushLogs() {
    if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext lc) {
      lc.stop();
    }
  }

  /** Runs one command line with {@code cli}'s services; used inside a running server and by tests. */
  public static int execute(String[] args, InputStream in, PrintStream out, PrintStream err, Cli cli) {
    Main main = new Main();
    main.cli = cli;
    cli.stdin = in;
    CommandLine cl = commandLine(main, out, err);
    try {
      return executeParsed(cl, cl.parseArgs(args), args);
    } catch (CommandLine.ParameterException e) {
      return handleParameterError(cl, e, args);
    }
  }

  private static CommandLine commandLine(Main main, PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(main);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof RefusedException || e instanceof ConfigException || e instanceof StoreException
          || e instanceof CliException) {
        cmd.getErr().println("darwinmail: " + e.getMessage());
        return 1;
      }
      // Unexpected: one line in plain words; the stack trace to the log (the server's, for a command it runs; here
      // at debug level, so that stderr keeps one line: darwinmail.log.level=DEBUG shows it).
      org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Main.class);
      if (main.cli.server() != null) {
        log.error("command {} failed", String.join(" ", parsed.originalArgs()), e);
      } else {
        log.debug("command failed", e);
      }
      cmd.getErr().println("darwinmail: " + org.darwinmail.errors.Errors.plain(e));
      return 1;
    });
    return cl;
  }

  private static int handleParameterError(CommandLine cl, CommandLine.ParameterException e, String[] args) {
    try {
      return cl.getParameterExceptionHandler().handleParseException(e, args);
    } catch (Exception x) {
      cl.getErr().println("darwinmail: " + x.getMessage());
      return 2;
    }
  }

  /** Executes what {@link CommandLine#parseArgs} found, as {@link CommandLine#execute} would, without parsing again. */
  private static int executeParsed(CommandLine cl, ParseResult parsed, String[] args) {
    try {
      return cl.getExecutionStrategy().execute(parsed);
    } catch (CommandLine.ParameterException e) {
      return handleParameterError(cl, e, args);
    } catch (CommandLine.ExecutionException e) {
      Exception cause = e.getCause() instanceof Exception x ? x : e;
      try {
        return cl.getExecutionExceptionHandler().handleExecutionException(cause, e.getCommandLine(), parsed);
      } catch (Exception x) {
        cl.getErr().println("darwinmail: " + org.darwinmail.errors.Errors.plain(x));
        return 1;
      }
    }
  }

  ServerConfig loadConfig() {
    return cli.config(config);
  }

  /** Captures a command's output; for tests and the control socket. */
  public static String[] run(Cli cli, String stdin, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = execute(args, new java.io.ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), cli);
    return new String[] {Integer.toString(code), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
  }

  /**
   * For a command that only reads: whether there is data to read. When the data directory was never used, says so
   * on stderr and opens nothing (which would create it).
   */
  static boolean hasData(Main main, CommandLine.Model.CommandSpec spec) {
    if (main.cli.hasData(main.config)) {
      return true;
    }
    spec.commandLine().getErr().println("darwinmail: no data yet in " + main.cli.dataDir(main.config)
        + " (nothing has been added)");
    return false;
  }

  /** {@code darwinmail --version}: this release (server/pom.xml's version, through {@link Release}). */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"Darwin Mail " + Release.VERSION};
    }
  }

  static DarwinMail.Services services(Main main) {
    return main.cli.services(main.config);
  }
}
