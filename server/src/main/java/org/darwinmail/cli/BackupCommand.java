package org.darwinmail.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.darwinmail.DarwinMail;
import org.darwinmail.store.Backup;
import org.darwinmail.store.BackupScheduler;
import org.darwinmail.store.DataDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code darwinmail backup create|list|verify|restore} (issue 18; ARCHITECTURE.md, "Backups"): a consistent copy of
 * the data directory while the server runs (the command then runs inside it, over the control socket, like the
 * others), its check, and its restoration into an empty data directory. Backups go to a folder,
 * {@code <data_dir>/backup} unless told (the automatic backups before a migration are there too); another disk is
 * better, a hard-linked backup on the same disk shares its blobs with the data.
 */
@Command(name = "backup", description = "Back up, check and restore the data directory.", subcommands = {
    BackupCommand.Create.class, BackupCommand.ListBackups.class, BackupCommand.Verify.class,
    BackupCommand.Restore.class, BackupCommand.Status.class})
final class BackupCommand {
  @ParentCommand
  Main main;

  /** DIR as given, or {@code <data_dir>/backup}; a relative path only from a shell (the server has its own cwd). */
  static Path folder(Main main, Path dir) {
    if (dir == null) {
      return DataDir.of(main.cli.dataDir(main.config).toAbsolutePath()).backup();
    }
    if (!dir.isAbsolute() && main.cli.server() != null) {
      throw new CliException("give the backup folder as an absolute path (" + dir + " is relative, and the running"
          + " server does not know this shell's current directory)");
    }
    return dir.toAbsolutePath();
  }

  /** The backup {@code verify} and {@code restore} take: NAME in --dir (default: <data_dir>/backup), or a path. */
  static final class BackupName {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;
    @Option(names = "--dir", paramLabel = "DIR", description = "Folder of the backups (default: <data_dir>/backup).")
    Path dir;

    /** NAME in DIR, or a path to a backup's folder. */
    Path resolve(Main main) {
      return backup(main, name, dir);
    }
  }

  /** A backup named NAME in DIR (default: <data_dir>/backup), or given as a path: the one rule of every command. */
  static Path backup(Main main, String name, Path dir) {
    return name.contains("/") ? folder(main, Path.of(name)) : folder(main, dir).resolve(name);
  }

  @Command(name = "create", description = "Back up the data directory into a new folder under DIR (default:"
      + " <data_dir>/backup), without stopping mail. Prints the backup's folder.")
  static final class Create implements Callable<Integer> {
    @ParentCommand
    BackupCommand parent;
    @Spec
    CommandSpec spec;
    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR")
    Path dir;

    @Override
    public Integer call() throws Exception {
      Path dest = folder(parent.main, dir);
      if (!parent.main.cli.hasData(parent.main.config)) { // opening the services would create the data directory
        throw new CliException("no data yet in " + parent.main.cli.dataDir(parent.main.config) + ": nothing to back"
            + " up");
      }
      if (parent.main.cli.config(parent.main.config).store().postgresql()) {
        throw new CliException(org.darwinmail.store.PostgresDatabase.NO_BACKUP + "; no backup made");
      }
      if (parent.main.cli.config(parent.main.config).blobs().s3()) { // Backup copies data_dir/blobs only
        throw new CliException("the message bodies are in an S3 bucket ([blobs] backend = \"s3\"), which a backup"
            + " does not copy yet; no backup made (keep the bucket's versioning or replication on)");
      }
      DarwinMail.Services s = Main.services(parent.main);
      long t0 = System.nanoTime();
      Backup.Created b = Backup.online(s.db(), s.mail(), s.blobs(), s.config().dataDir(), dest, "darwinmail");
      double secs = (System.nanoTime() - t0) / 1e9;
      spec.commandLine().getOut().printf("%s%n%d messages, %d blobs (%d linked), %d files, %.1f MB in %.1f s%n",
          b.path(), b.messages(), b.blobs(), b.linked(), b.files(), b.bytes() / 1e6, secs);
      return 0;
    }
  }

  @Command(name = "list", description = "List the backups in DIR (default: <data_dir>/backup).")
  static final class ListBackups implements Callable<Integer> {
    @ParentCommand
    BackupCommand parent;
    @Spec
    CommandSpec spec;
    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR")
    Path dir;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      for (Backup.Listed l : Backup.listBackups(folder(parent.main, dir))) {
        var h = l.head();
        String name = l.folder().getFileName().toString();
        if (h.isEmpty()) {
          out.println(name + "\tdatabase only (an automatic backup made by 0.2.0: no bodies, no manifest)");
        } else if (h.containsKey("error")) {
          out.println(name + "\tunreadable: " + h.get("error"));
        } else {
          out.println(name + "\t" + h.getOrDefault("created", "?") + "\tDarwin Mail " + h.getOrDefault("written_by",
              "?") + "\tschema " + h.getOrDefault("database_schema", "?") + "\t" + h.getOrDefault("messages", "?")
              + " messages\t" + h.getOrDefault("blobs", "?") + " blobs");
        }
      }
      return 0;
    }
  }

  @Command(name = "verify", description = "Check a backup: every file's checksum, every blob against its name,"
      + " every message's body present, the database boots. NAME is a backup in DIR, or a path.")
  static final class Verify implements Callable<Integer> {
    @ParentCommand
    BackupCommand parent;
    @Spec
    CommandSpec spec;
    @Mixin
    BackupName named;

    @Override
    public Integer call() {
      Path b = named.resolve(parent.main);
      Backup.Report r = Backup.verify(b);
      PrintWriter out = spec.commandLine().getOut();
      for (String p : r.problems()) {
        out.println(p);
      }
      if (!r.ok()) {
        throw new CliException("the backup " + b + " is damaged: " + r.problems().getFirst()
            + (r.problemCount() > 1 ? " (and " + (r.problemCount() - 1) + " more problem(s) above)" : ""));
      }
      out.println(b + ": OK (" + r.files() + " files, " + r.blobs() + " blobs, " + r.messages() + " messages, "
          + r.queued() + " queued)");
      return 0;
    }
  }

  @Command(name = "restore", description = "Restore a verified backup into an empty data directory; its next start"
      + " migrates it if it is older. NAME is a backup in --dir, or a path.")
  static final class Restore implements Callable<Integer> {
    @ParentCommand
    BackupCommand parent;
    @Spec
    CommandSpec spec;
    @Mixin
    BackupName named;
    @Option(names = "--to", required = true, paramLabel = "DATA_DIR", description = "An empty (or absent) folder.")
    Path to;

    @Override
    public Integer call() {
      Path b = named.resolve(parent.main);
      Path target = folder(parent.main, to);
      Backup.Restored r = Backup.restore(b, target);
      spec.commandLine().getOut().println("restored " + b.getFileName() + " into " + r.dataDir() + ": "
          + r.messages() + " messages, " + r.blobs() + " blobs (" + r.linked() + " linked), " + r.files()
          + " files; point data_dir at it and start the server");
      return 0;
    }
  }

  @Command(name = "status", description = "The scheduled backups ([backup] in the settings): the last one's time,"
      + " result and size, and when the next starts.")
  static final class Status implements Callable<Integer> {
    @ParentCommand
    BackupCommand parent;
    @Spec
    CommandSpec spec;
    @Option(names = "--json", description = "As JSON (what the admin console reads).")
    boolean json;

    @Override
    public Integer call() {
      Main main = parent.main;
      org.darwinmail.config.ServerConfig cfg = main.loadConfig();
      BackupScheduler live = main.cli.server() == null ? null : main.cli.server().backups();
      BackupScheduler.Status last = live != null ? live.status() : BackupScheduler.read(cfg.dataDir());
      java.time.Instant next = live != null ? live.next() : null;
      java.time.Instant now = java.time.Instant.now();
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(BackupScheduler.json(cfg.backup().plan(cfg.dataDir()), cfg.dataDir(), last, next, now));
        return 0;
      }
      var b = cfg.backup();
      out.println(b.enabled() ? "schedule: " + b.schedule() + " (UTC) into " + b.folder(cfg.dataDir()) + ", keeping "
          + b.keep() + (b.keepDays() > 0 ? " and those younger than " + b.keepDays() + " days" : "")
          + (next != null ? "; next at " + next : live == null ? " (the server is not running)" : "")
          : "schedule: off (set [backup] schedule in the settings)");
      if (last == null) {
        out.println("last: none yet");
        return 0;
      }
      String age = last.finished() == null ? "?" : java.time.Duration.between(last.finished(), now).toSeconds()
          + " s ago";
      out.println(last.ok()
          ? "last: OK at " + last.finished() + " (" + age + "): " + last.backup() + ", " + last.messages()
              + " messages, " + last.blobs() + " blobs, " + String.format("%.1f MB", last.bytes() / 1e6)
              + ", verified; " + last.deleted() + " older deleted"
          : "last: FAILED at " + last.finished() + " (" + age + "): " + last.error());
      if (!last.ok()) {
        out.flush();
        throw new CliException("the last scheduled backup failed: " + last.error());
      }
      return 0;
    }
  }
}
