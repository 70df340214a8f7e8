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
   * The exit status of the command run by the server, or null when no server answers (run it here). The command
   * line was parsed by picocli already (in {@link Main}); {@code readsStdin}: it takes {@code --password-stdin}.
   */
  static Integer forward(Path config, List<String> args, boolean readsStdin, InputStream stdin, PrintStream out,
      PrintStream err) {
    Path socket;
    try {
      socket = ControlProtocol.socketPath(ConfigPaths.dataDir(config));
    } catch (RuntimeException e) {
      return null; // let the local run report the configuration problem
    }
    if (!Files.exists(socket)) {
      return null;
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      String input = readsStdin
          ? new String(stdin.readNBytes(ControlProtocol.MAX_STDIN), StandardCharsets.UTF_8) : "";
      ControlProtocol.write(new ControlProtocol.Request(args, input), Channels.newOutputStream(ch));
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
