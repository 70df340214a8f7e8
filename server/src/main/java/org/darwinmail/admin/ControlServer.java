package org.darwinmail.admin;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.DarwinMail;
import org.darwinmail.cli.Cli;
import org.darwinmail.cli.Main;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The control socket: a UNIX socket under {@code <data_dir>/run/} (mode 0600, folder 0700) on which a running
 * server executes {@code darwinmail} administration commands for the CLI, with its own open database.
 * One JSON request ({"args": [...], "stdin": "..."}) per connection, one JSON reply ({"exit", "out", "err"}).
 */
public final class ControlServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControlServer.class);
  public static final int MAX_MESSAGE = 4 * 1024 * 1024;
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final ServerSocketChannel server;
  private final Path path;
  private final DarwinMail mail;
  private final Thread acceptor;

  private ControlServer(ServerSocketChannel server, Path path, DarwinMail mail) {
    this.server = server;
    this.path = path;
    this.mail = mail;
    this.acceptor = Thread.ofVirtual().name("control").start(this::acceptLoop);
  }

  public static Path socketPath(Path dataDir) {
    return org.darwinmail.store.DataDir.of(dataDir).controlSocket();
  }

  public static ControlServer start(DarwinMail mail) {
    Path path = socketPath(mail.config().dataDir());
    try {
      Files.createDirectories(path.getParent());
      Files.setPosixFilePermissions(path.getParent(), PosixFilePermissions.fromString("rwx------"));
      Files.deleteIfExists(path);
      ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      s.bind(UnixDomainSocketAddress.of(path));
      Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
      log.info("control socket at {}", path);
      return new ControlServer(s, path, mail);
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
      byte[] req = Channels.newInputStream(ch).readNBytes(MAX_MESSAGE);
      JsonNode r = JSON.readTree(req);
      List<String> args = new ArrayList<>();
      for (JsonNode a : r.get("args")) {
        args.add(a.asString());
      }
      String stdin = r.has("stdin") ? r.get("stdin").asString() : "";
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code;
      try (Cli cli = Cli.inside(mail)) {
        code = Main.execute(args.toArray(String[]::new), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
            new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
            cli);
      }
      var reply = JSON.createObjectNode();
      reply.put("exit", code);
      reply.put("out", out.toString(StandardCharsets.UTF_8));
      reply.put("err", err.toString(StandardCharsets.UTF_8));
      ByteBuffer b = ByteBuffer.wrap(JSON.writeValueAsBytes(reply));
      while (b.hasRemaining()) {
        ch.write(b);
      }
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
