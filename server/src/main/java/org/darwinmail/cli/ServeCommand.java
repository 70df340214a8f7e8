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
}
