package org.darwinmail.admin;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control socket: a UNIX socket under {@code <data_dir>/run/} (mode 0600, folder 0700) on which a running
 * server executes {@code darwinmail} administration commands for the CLI, with its own open database. The wire
 * format is {@link ControlProtocol}'s; what a request does is the {@link ControlProtocol.Handler} given at start (the
 * CLI's, wired by {@code serve}: this package does not know the command line).
 */
public final class ControlServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControlServer.class);
  private final ServerSocketChannel server;
  private final Path path;
  private final ControlProtocol.Handler handler;
  private final Thread acceptor;

  private ControlServer(ServerSocketChannel server, Path path, ControlProtocol.Handler handler) {
    this.server = server;
    this.path = path;
    this.handler = handler;
    this.acceptor = Thread.ofVirtual().name("control").start(this::acceptLoop);
  }

  /** Listens on {@code <dataDir>/run/control.sock}; each request is run by {@code handler}. */
  public static ControlServer start(Path dataDir, ControlProtocol.Handler handler) {
    Path path = ControlProtocol.socketPath(dataDir);
    try {
      Files.createDirectories(path.getParent());
      Files.setPosixFilePermissions(path.getParent(), PosixFilePermissions.fromString("rwx------"));
      Files.deleteIfExists(path);
      ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      s.bind(UnixDomainSocketAddress.of(path));
      Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
      log.info("control socket at {}", path);
      return new ControlServer(s, path, handler);
    } catch (IOException e) {
      throw new IllegalStateException("cannot open the control socket " + path + ": " + e.getMessage(), e);
    }
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      try {
        SocketChannel ch = server.accept();
        Thread.ofVirtual().start(() -> handle(ch));
      } catch (IOException e) {
        if (server.isOpen()) {
          log.warn("control socket: {}", e.getMessage());
        }
      }
    }
  }

  private void handle(SocketChannel ch) {
    try (ch) {
      ControlProtocol.Request request = ControlProtocol.readRequest(Channels.newInputStream(ch));
      ControlProtocol.write(handler.handle(request), Channels.newOutputStream(ch));
    } catch (java.io.EOFException e) {
      log.debug("control connection closed without a request (ControlProtocol.answers)");
    } catch (IOException | RuntimeException e) {
      log.warn("control request failed: {}", e.toString());
    }
  }

  @Override
  public void close() {
    try {
      server.close();
      Files.deleteIfExists(path);
    } catch (IOException e) {
      log.debug("closing the control socket: {}", e.getMessage());
    }
    acceptor.interrupt();
  }
}
