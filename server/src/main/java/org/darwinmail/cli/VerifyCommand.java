package org.darwinmail.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.darwinmail.DarwinMail;
import org.darwinmail.store.Backup;
import org.darwinmail.store.Verify;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code darwinmail verify [--backup NAME]} (issue 18; ARCHITECTURE.md, "Backups"): the store's consistency
 * ({@link Verify}), checked by a running server on its own open store without stopping mail (the command goes over
 * the control socket like every other), or here on a stopped data directory; or a backup's ({@link Backup#verify}).
 * One line per problem on standard output, then a summary; exit status 1 when anything is wrong.
 */
@Command(name = "verify", description = "Check the store: every message's body there and whole, no orphan blob, the"
    + " UIDs, the usage quotas count, the queue and the intake journal consistent with the rows. On the running"
    + " server's store (without stopping mail), on a stopped data directory, or with --backup on a backup.")
final class VerifyCommand implements Callable<Integer> {
  @ParentCommand
  Main main;
  @Spec
  CommandSpec spec;
  @Option(names = "--backup", paramLabel = "NAME", description = "A backup in --dir, or a path to one, or"
      + " s3://BUCKET[/PREFIX]/NAME.")
  String backup;
  @Option(names = "--dir", paramLabel = "DIR", description = "Folder of the backups (default: <data_dir>/backup),"
      + " or s3://BUCKET[/PREFIX].")
  String dir;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    if (backup != null) {
      BackupCommand.InBucket in = BackupCommand.inBucket(main, backup, dir);
      String b = in != null ? in.location() : BackupCommand.backup(main, backup, dir == null ? null : Path.of(dir))
          .toString();
      Backup.Report r = in != null ? BackupCommand.verifyInBucket(main, in) : Backup.verify(Path.of(b));
      return report(out, r.problems(), r.problemCount(), "backup " + b + ": " + r.messages() + " messages, "
          + r.queued() + " queued, " + r.blobs() + " blobs (" + r.unreferenced() + " named by no row: stored after"
          + " the database copy or awaiting collection), " + r.files() + " files");
    }
    if (dir != null) {
      throw new CliException("--dir goes with --backup");
    }
    if (main.cli.config(main.config).store().postgresql()) {
      throw new CliException(org.darwinmail.store.PostgresDatabase.NO_VERIFY);
    }
    if (!Main.hasData(main, spec)) {
      return 1;
    }
    DarwinMail.Services s = Main.services(main);
    Verify.Report r = Verify.store(s.db(), s.mail(), s.blobs(), s::blobReferenced);
    return report(out, r.problems(), r.problemCount(), (main.cli.server() != null ? "running server's store " : "")
        + s.config().dataDir() + ": " + r.messages() + " messages, " + r.queued() + " queued, " + r.blobs()
        + " blobs named by rows, " + r.unreferenced() + " not (awaiting collection or being stored), checked in "
        + String.format("%.1f s", r.took().toMillis() / 1000.0));
  }

  private int report(PrintWriter out, List<String> problems, int count, String summary) {
    problems.forEach(out::println);
    if (count > problems.size()) {
      out.println("(" + (count - problems.size()) + " more problem(s) not shown)");
    }
    if (count > 0) {
      out.flush();
      throw new CliException(count + " problem(s) in the " + summary);
    }
    out.println("OK: " + summary);
    return 0;
  }
}
