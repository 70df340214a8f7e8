package org.darwinmail.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.darwinmail.admin.ControlProtocol;
import org.darwinmail.config.ConfigPaths;

/**
 * Sends a CLI command to a running server over its control socket ({@code <data_dir>/run/control.sock}, the wire
 * format of {@link ControlProtocol}). The client side of the CLI: it loads neither the server's classes nor the
 * logging, the database or Netty (issue 22; ARCHITECTURE.md, "The CLI and the control socket").
 */
final class ControlClient {
  private ControlClient() {}

  /**
   * How long a command waits for a server that is starting (its listeners up or its database open, its control
   * socket not yet): seconds on the appliance's hardware, minutes in a VM under software emulation (the tests'
   * QEMU), where Derby's boot after the greeting took over a minute.
   */
  static final java.time.Duration START_WAIT = java.time.Duration.ofSeconds(300);
  private static final long POLL_MILLIS = 200;

  /**
   * The exit status of the command run by the server, or null when no server answers (run it here). The command
   * line was parsed by picocli already (in {@link Main}); {@code readsStdin}: it takes {@code --password-stdin}.
   * A server that is starting (its Derby database locked, {@link ControlProtocol#databaseLocked}, its socket not
   * yet up) is waited for, up to {@link #START_WAIT}.
   */
  static Integer forward(Path config, List<String> args, boolean readsStdin, InputStream stdin, PrintStream out,
      PrintStream err) {
    java.time.Duration wait = startWait(System.getenv("DARWINMAIL_START_WAIT"), err);
    return forward(config, args, readsStdin, stdin, out, err, wait);
  }

  /**
   * The wait {@code DARWINMAIL_START_WAIT} asks for (whole seconds, at most 3600; a script's own limit), else
   * {@link #START_WAIT}; a value that is not a number of seconds is said on {@code err} and not used.
   */
  static java.time.Duration startWait(String value, PrintStream err) {
    if (value == null || value.isEmpty()) {
      return START_WAIT;
    }
    if (value.matches("[0-9]{1,4}")) {
      return java.time.Duration.ofSeconds(Math.min(3600, Integer.parseInt(value)));
    }
    String shown = value.length() > 40 ? value.substring(0, 40) + "..." : value;
    err.println("darwinmail: DARWINMAIL_START_WAIT=" + shown.replaceAll("[^\\x20-\\x7e]", "?")
        + " is not a number of seconds (0-3600); a starting server is waited for up to " + START_WAIT.toSeconds()
        + " s");
    return START_WAIT;
  }

  static Integer forward(Path config, List<String> args, boolean readsStdin, InputStream stdin, PrintStream out,
      PrintStream err, java.time.Duration wait) {
    Path dataDir;
    try {
      dataDir = ConfigPaths.dataDir(config);
    } catch (RuntimeException e) {
      return null; // let the local run report the configuration problem
    }
    Path socket = ControlProtocol.socketPath(dataDir);
    String[] input = {null};
    Integer sent = send(socket, args, readsStdin, stdin, input, out, err);
    if (sent != null || !ControlProtocol.databaseLocked(dataDir)) {
      return sent;
    }
    // The database is open in another process but nothing answers: a server starting (it opens the database, then
    // replays its journal, then opens the socket), or another command that opened the database itself.
    err.println("darwinmail: the server is starting; waiting for it (up to " + wait.toSeconds() + " s)");
    err.flush();
    long deadline = System.nanoTime() + wait.toNanos();
    while (System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      sent = send(socket, args, readsStdin, stdin, input, out, err);
      if (sent != null) {
        return sent;
      }
      if (!ControlProtocol.databaseLocked(dataDir)) {
        return null; // whoever held it is gone (a start that failed, a command that ended): run it here
      }
    }
    err.println("darwinmail: the database " + dataDir.resolve("db") + " is still in use by another process and no"
        + " server answered on " + socket + " within " + wait.toSeconds() + " s (is a server stuck starting, or"
        + " another darwinmail command running?)");
    err.flush();
    return 1;
  }

  /** One try: the exit status, or null when nothing answers on {@code socket}. Standard input is read once. */
  private static Integer send(Path socket, List<String> args, boolean readsStdin, InputStream stdin, String[] input,
      PrintStream out, PrintStream err) {
    if (!Files.exists(socket)) {
      return null;
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      if (input[0] == null) {
        input[0] = readsStdin
            ? new String(stdin.readNBytes(ControlProtocol.MAX_STDIN), StandardCharsets.UTF_8) : "";
      }
      ControlProtocol.write(new ControlProtocol.Request(args, input[0]), Channels.newOutputStream(ch));
      ch.shutdownOutput();
      ControlProtocol.Reply r = ControlProtocol.readReply(Channels.newInputStream(ch));
      out.print(r.out());
      err.print(r.err());
      out.flush();
      err.flush();
      return r.exit();
    } catch (IOException | RuntimeException e) {
      return null; // a stale socket: no server there
    }
  }
}
