package org.darwinmail.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.darwinmail.DarwinMail;
import org.darwinmail.store.QueueRepository;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code darwinmail queue list|retry|delete}: the outbound queue (ARCHITECTURE.md, "The CLI and the control socket").
 */
@Command(name = "queue", description = "Inspect and manage the outbound queue.", subcommands = {
    QueueCommand.ListQueue.class, QueueCommand.Retry.class, QueueCommand.Delete.class})
final class QueueCommand {
  @ParentCommand
  Main main;

  static QueueRepository queue(Main main) {
    return Main.services(main).queue();
  }

  /** Tells a running server's delivery engine to look at the queue now. */
  static void wake(Main main) {
    DarwinMail server = main.cli.server();
    if (server != null) {
      server.delivery().wake();
    }
  }

  @Command(name = "list", description = "List queued messages and the recipients still to deliver.")
  static final class ListQueue implements Callable<Integer> {
    @ParentCommand
    QueueCommand parent;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      if (!Main.hasData(parent.main, spec)) {
        return 0;
      }
      Map<QueueRepository.Entry, List<QueueRepository.Rcpt>> all = queue(parent.main).list();
      if (all.isEmpty()) {
        out.println("The queue is empty.");
        return 0;
      }
      for (var e : all.entrySet()) {
        QueueRepository.Entry m = e.getKey();
        // the id this command takes, and the one the SMTP reply ("250 2.0.0 OK queued as ...") and the log gave
        out.println(m.id() + "  queued as " + m.blob().substring(0, Math.min(12, m.blob().length())) + "  "
            + m.created() + "  <" + m.sender() + ">  " + m.size() + " bytes"
            + (m.account() == null ? "" : "  submitted by " + m.account()));
        for (QueueRepository.Rcpt r : e.getValue()) {
          out.println("    " + r.recipient() + "  attempts " + r.attempts() + ", next " + r.nextAttempt()
              + (r.lastError() == null ? "" : ", last error: " + r.lastError()));
        }
      }
      return 0;
    }
  }

  @Command(name = "retry", description = "Try queued messages again now: the given IDs, or all.")
  static final class Retry implements Callable<Integer> {
    @ParentCommand
    QueueCommand parent;
    @Spec
    CommandSpec spec;
    @Parameters(arity = "0..*", paramLabel = "ID")
    List<Long> ids = List.of();

    @Override
    public Integer call() {
      int n = queue(parent.main).retryNow(ids == null ? List.of() : ids);
      if (n == 0 && ids != null && !ids.isEmpty()) {
        throw new CliException("no such queued message: " + ids);
      }
      wake(parent.main);
      spec.commandLine().getOut().println(n + " recipient(s) will be tried now.");
      return 0;
    }
  }

  @Command(name = "delete", description = "Remove queued messages without notifying their senders.")
  static final class Delete implements Callable<Integer> {
    @ParentCommand
    QueueCommand parent;
    @Spec
    CommandSpec spec;
    @Parameters(arity = "1..*", paramLabel = "ID")
    List<Long> ids;

    @Override
    public Integer call() {
      int n = queue(parent.main).delete(ids);
      if (n < ids.size()) {
        throw new CliException((ids.size() - n) + " of the given IDs are not in the queue");
      }
      spec.commandLine().getOut().println(n + " message(s) deleted from the queue.");
      return 0;
    }
  }
}
