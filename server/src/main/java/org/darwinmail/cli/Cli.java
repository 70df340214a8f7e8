package org.darwinmail.cli;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.ControlProtocol;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;

/**
 * Where CLI commands find the server's services: inside a running server (its live services) or in a separate
 * process (the database opened on first use and closed at the end).
 */
public final class Cli implements AutoCloseable {
  private final DarwinMail.Services live;
  private final DarwinMail server;
  private DarwinMail.Services opened;
  InputStream stdin = System.in;

  private Cli(DarwinMail server) {
    this.server = server;
    this.live = server == null ? null : server.services();
  }

  public static Cli local() {
    return new Cli(null);
  }

  /** Commands run inside {@code server} (over its control socket). */
  public static Cli inside(DarwinMail server) {
    return new Cli(server);
  }

  /**
   * What the control socket runs, inside the server: one command line, with its own {@code Cli} on the live
   * services. Here rather than in {@link Main} so that the client side, which loads {@code Main}, never loads
   * {@link DarwinMail}.
   */
  public static ControlProtocol.Handler controlHandler(DarwinMail server) {
    return request -> {
      try (Cli cli = Cli.inside(server)) {
        String[] r = Main.run(cli, request.stdin(), request.args().toArray(String[]::new));
        return new ControlProtocol.Reply(Integer.parseInt(r[0]), r[1], r[2]);
      }
    };
  }

  ServerConfig config(Path file) {
    return live != null ? live.config() : ConfigLoader.load(file);
  }

  DarwinMail.Services services(Path configFile) {
    if (live != null) {
      return live;
    }
    if (opened == null) {
      opened = DarwinMail.Services.open(ConfigLoader.load(configFile));
    }
    return opened;
  }

  /**
   * Whether there is a database to read: a command that only reads must not create the data directory (issue 23:
   * `domain list` on a fresh configuration made one).
   */
  boolean hasData(Path configFile) {
    return live != null || opened != null || config(configFile).store().postgresql() // the database is elsewhere
        || Files.isDirectory(org.darwinmail.store.DataDir.of(dataDir(configFile)).db());
  }

  Path dataDir(Path configFile) {
    return config(configFile).dataDir();
  }

  /** The running server, when the command runs inside one. */
  DarwinMail server() {
    return server;
  }

  @Override
  public void close() {
    if (opened != null) {
      opened.close();
      opened = null;
    }
  }
}
