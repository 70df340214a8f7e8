package org.darwinmail.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.darwinmail.store.TraceRepository;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code darwinmail trace <queue id|Message-ID|address>}: the delivery trace (issue 17), the same store and search
 * as the console's trace page ({@code GET /api/trace}), newest first; sent to a running server over its control
 * socket like every command (ARCHITECTURE.md, "The CLI and the control socket").
 */
@Command(name = "trace", description = "Show the delivery trace of a message: by queue ID, Message-ID or recipient"
    + " address, newest first.")
final class TraceCommand implements Callable<Integer> {
  static final int MAX_LIMIT = 1000;
  @ParentCommand
  Main main;
  @Spec
  CommandSpec spec;
  @Parameters(paramLabel = "ID|MESSAGE-ID|ADDRESS", description = "a queue ID, a Message-ID or a recipient address")
  String query;
  @Option(names = "--limit", paramLabel = "N", description = "events shown at most (1-" + MAX_LIMIT
      + ", default 100)")
  int limit = 100;
  @Option(names = "--offset", paramLabel = "N", description = "newer events skipped first (default 0)")
  int offset = 0;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    String q = query.strip();
    if (q.isEmpty() || q.length() > 320) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "give a queue ID, a Message-ID or a recipient address (at most 320 characters)");
    }
    if (limit < 1 || limit > MAX_LIMIT || offset < 0 || offset > 100_000) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--limit is 1 to " + MAX_LIMIT + ", --offset 0 to 100000");
    }
    if (!Main.hasData(main, spec)) {
      return 0;
    }
    TraceRepository.Page page = Main.services(main).trace().repository().search(q, offset, limit);
    if (page.events().isEmpty()) {
      out.println("No event recorded for " + q + ".");
      return 0;
    }
    for (TraceRepository.Event e : page.events()) {
      StringBuilder b = new StringBuilder().append(e.at()).append("  ")
          .append(e.queueId() == 0 ? "-" : Long.toString(e.queueId())).append("  ").append(e.kind()).append("  ")
          .append(e.recipient().isEmpty() ? "-" : e.recipient());
      if (!e.messageId().isEmpty()) {
        b.append("  ").append(e.messageId());
      }
      if (!e.client().isEmpty()) {
        b.append("  client ").append(e.client());
      }
      if (e.size() > 0) {
        b.append("  ").append(e.size()).append(" bytes");
      }
      if (!e.remote().isEmpty()) {
        b.append("  remote ").append(e.remote());
      }
      if (!e.detail().isEmpty()) {
        b.append("  ").append(e.detail());
      }
      out.println(b);
    }
    if (page.more()) {
      out.println("(older events: --offset " + (offset + page.events().size()) + ")");
    }
    return 0;
  }
}
