package org.darwinmail.cli;

import java.util.concurrent.CountDownLatch;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.ControlServer;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code darwinmail serve}: runs the server in the foreground until SIGTERM / SIGINT. */
@Command(name = "serve", description = "Run the mail server in the foreground (logs to standard output).")
final class ServeCommand implements Runnable {
  @ParentCommand
  Main main;

  @Override
  public void run() {
    if (main.cli.server() != null) {
      throw new CliException("the server is already running");
    }
    ServerConfig config = ConfigLoader.load(main.config);
    org.darwinmail.admin.web.AdminWeb.installMetrics();
    DarwinMail server = DarwinMail.start(config);
    ControlServer control = ControlServer.start(config.dataDir(), Cli.controlHandler(server));
    org.darwinmail.admin.web.AdminWeb web = org.darwinmail.admin.web.AdminWeb.start(server);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      web.close();
      control.close();
      server.close();
      Main.flushLogs();
      stopped.countDown();
    }, "shutdown"));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * {@code darwinmail serve} without picocli ({@link TypedLine#serveConfig}; here, not in Main, whose verification
   * would load the exceptions caught below for a command that never runs it): the same command, and the same answer
   * to a failed start as picocli's execution handler in Main gives (one line on stderr, exit status 1).
   */
  static void serve(Main main) {
    org.darwinmail.net.NetServer.prime(); // while the configuration is read
    DarwinMail.prepareJvm();
    int code = 0;
    try (Cli cli = Cli.local()) {
      main.cli = cli;
      ServeCommand command = new ServeCommand();
      command.main = main;
      command.run();
    } catch (org.darwinmail.store.RefusedException | org.darwinmail.config.ConfigException
        | org.darwinmail.store.StoreException | CliException e) {
      System.err.println("darwinmail: " + e.getMessage());
      code = 1;
    } catch (RuntimeException e) {
      org.slf4j.LoggerFactory.getLogger(Main.class).debug("command failed", e);
      System.err.println("darwinmail: " + org.darwinmail.errors.Errors.plain(e));
      code = 1;
    }
    // A server that stopped (SIGTERM) returns and lets the JVM end; one that could not start must not exit 0.
    if (code != 0) {
      Main.flushLogs();
      System.exit(code);
    }
  }

}
