package org.darwinmail.cli;

import java.io.PrintWriter;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.Callable;
import org.darwinmail.store.MtaStsRepository;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code darwinmail mta-sts}: outbound MTA-STS as delivery sees it (RFC 8461): the recipient domains' policies
 * cached (id, mode, mx patterns, expiry) and the TLS reporting counts (RFC 8460) of the last days: sessions per
 * day, policy domain and result ("success" or the failure's result type), and the TLS reports sent (or why not) per
 * day and domain. Read from the store (V016, V017), through a
 * running server's control socket like every command.
 */
@Command(name = "mta-sts", description = "Show the MTA-STS policies cached for recipient domains and the TLS"
    + " report counts (sessions per day, domain and result) and the TLS reports sent of the last days.")
final class MtaStsCommand implements Callable<Integer> {
  @ParentCommand
  Main main;
  @Spec
  CommandSpec spec;
  @Option(names = "--days", paramLabel = "N", description = "days of counts shown, today included (1-366,"
      + " default 7)")
  int days = 7;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    if (days < 1 || days > 366) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--days is 1 to 366");
    }
    if (!Main.hasData(main, spec)) {
      return 0;
    }
    MtaStsRepository repo = Main.services(main).delivery().mtaSts();
    List<MtaStsRepository.Stored> policies = repo.policies();
    if (policies.isEmpty()) {
      out.println("No MTA-STS policy cached.");
    } else {
      out.println("Policies cached:");
      for (MtaStsRepository.Stored p : policies) {
        out.println("  " + p.domain() + "  id " + p.id() + "  " + p.mode() + "  mx " + (p.mx().isEmpty() ? "-"
            : String.join(" ", p.mx())) + "  fetched " + p.fetched() + "  expires " + p.expires());
      }
    }
    LocalDate since = LocalDate.now(ZoneOffset.UTC).minusDays(days - 1L);
    List<MtaStsRepository.Count> counts = repo.counts(since);
    if (counts.isEmpty()) {
      out.println("No TLS session to a domain with a policy in the last " + days + " day(s).");
    } else {
      out.println("TLS report counts (UTC days):");
      for (MtaStsRepository.Count c : counts) {
        out.println("  " + c.day() + "  " + c.domain() + "  " + c.result() + "  " + c.sessions());
      }
    }
    List<MtaStsRepository.Report> reports = repo.reports(since);
    if (reports.isEmpty()) {
      out.println("No TLS report (RFC 8460) about the last " + days + " day(s).");
    } else {
      out.println("TLS reports (UTC day reported, domain, destinations, result):");
      for (MtaStsRepository.Report r : reports) {
        out.println("  " + r.day() + "  " + r.domain() + "  " + (r.destinations().isEmpty() ? "-"
            : r.destinations()) + "  " + (r.result().isEmpty() ? "sending" : r.result()));
      }
    }
    return 0;
  }
}
