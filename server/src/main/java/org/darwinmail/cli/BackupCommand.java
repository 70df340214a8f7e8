package org.darwinmail.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.ControlProtocol;
import org.darwinmail.config.BackupS3Config;
import org.darwinmail.config.ConfigException;
import org.darwinmail.store.Backup;
import org.darwinmail.store.BucketBackup;
import org.darwinmail.store.BackupScheduler;
import org.darwinmail.store.DataDir;
import org.darwinmail.store.RestoreReplace;
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
 * better, a hard-linked backup on the same disk shares its blobs with the data. Or to a bucket: wherever a folder is
 * taken, {@code s3://BUCKET[/PREFIX]} ({@link BucketBackup}, reached with {@code [backup.s3]}), and a backup there is
 * {@code s3://BUCKET[/PREFIX]/NAME}.
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
    @Option(names = "--dir", paramLabel = "DIR", description = "Folder of the backups (default: <data_dir>/backup),"
        + " or s3://BUCKET[/PREFIX].")
    String dir;

    /** NAME in DIR, or a path to a backup's folder. */
    Path resolve(Main main) {
      return backup(main, name, dir == null ? null : Path.of(dir));
    }

    /** The backup in a bucket NAME or DIR names, or null when it is in a folder. */
    InBucket inBucket(Main main) {
      return BackupCommand.inBucket(main, name, dir);
    }
  }

  /** A backup named NAME in DIR (default: <data_dir>/backup), or given as a path: the one rule of every command. */
  static Path backup(Main main, String name, Path dir) {
    return name.contains("/") ? folder(main, Path.of(name)) : folder(main, dir).resolve(name);
  }

  /** A backup in a bucket: the bucket destination and the backup's name there. */
  record InBucket(BucketBackup.Target target, String name) {
    String location() {
      return target.location(name);
    }
  }

  /**
   * The backup NAME in bucket DIR ({@code s3://BUCKET[/PREFIX]}), or NAME given as {@code s3://BUCKET[/PREFIX]/NAME};
   * null when neither is a bucket.
   */
  static InBucket inBucket(Main main, String name, String dir) {
    if (BackupS3Config.isBucket(name)) {
      if (dir != null) {
        throw new CliException("give the backup as s3://BUCKET[/PREFIX]/NAME or as NAME with --dir, not both");
      }
      int slash = name.lastIndexOf('/');
      if (slash < BackupS3Config.SCHEME.length()) {
        throw new CliException(name + " names no backup: give s3://BUCKET[/PREFIX]/NAME");
      }
      return new InBucket(target(main, name.substring(0, slash)), checkedName(name.substring(slash + 1)));
    }
    if (BackupS3Config.isBucket(dir)) {
      return new InBucket(target(main, dir), checkedName(name));
    }
    return null;
  }

  /**
   * {@link BucketBackup#verify}, the backup downloaded under {@code <data_dir>/backup} (the data disk: a temporary
   * file system may be too small for it).
   */
  static Backup.Report verifyInBucket(Main main, InBucket in) {
    Path dataDir = main.cli.dataDir(main.config).toAbsolutePath();
    return BucketBackup.verify(in.target(), in.name(), Files.isDirectory(dataDir) ? DataDir.of(dataDir).backup()
        : Path.of(System.getProperty("java.io.tmpdir"))); // never a data directory made by a verify
  }

  private static String checkedName(String name) {
    if (!name.matches("[A-Za-z0-9._-]{1,200}") || name.equals(".") || name.equals("..")) {
      throw new CliException("\"" + name + "\" is not a backup's name");
    }
    return name;
  }

  /** The bucket destination {@code s3://...} with the settings' {@code [backup.s3]}. */
  static BucketBackup.Target target(Main main, String destination) {
    try {
      return main.cli.config(main.config).backup().s3().target(destination);
    } catch (ConfigException e) {
      throw new CliException(e.getMessage());
    }
  }

  @Command(name = "create", description = "Back up the data directory into a new folder under DIR (default:"
      + " <data_dir>/backup), or into s3://BUCKET[/PREFIX] ([backup.s3] in the settings), without stopping mail."
      + " Prints the backup's folder or location.")
  static final class Create implements Callable<Integer> {
    @ParentCommand
    BackupCommand parent;
    @Spec
    CommandSpec spec;
    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR", description = "A folder, or s3://BUCKET[/PREFIX].")
    String dir;

    @Override
    public Integer call() throws Exception {
      BucketBackup.Target bucket = BackupS3Config.isBucket(dir) ? target(parent.main, dir) : null;
      Path dest = bucket != null ? null : folder(parent.main, dir == null ? null : Path.of(dir));
      if (!parent.main.cli.hasData(parent.main.config)) { // opening the services would create the data directory
        throw new CliException("no data yet in " + parent.main.cli.dataDir(parent.main.config) + ": nothing to back"
            + " up");
      }
      if (parent.main.cli.config(parent.main.config).store().postgresql()) {
        throw new CliException(org.darwinmail.store.PostgresDatabase.NO_BACKUP + "; no backup made");
      }
      DarwinMail.Services s = Main.services(parent.main);
      long t0 = System.nanoTime();
      if (bucket != null) {
        BucketBackup.Uploaded u = BucketBackup.online(s.db(), s.mail(), s.blobs(), s.config().dataDir(), bucket,
            "darwinmail", false, 0, 0);
        double secs = (System.nanoTime() - t0) / 1e9;
        spec.commandLine().getOut().printf("%s%n%d messages, %d blobs (%d uploaded, %d in the bucket already), %d"
            + " files, %.1f MB (%.1f MB uploaded) in %.1f s: %.0f messages/s, %.1f MB/s%n", u.location(),
            u.messages(), u.blobs(), u.uploadedBlobs(), u.blobs() - u.uploadedBlobs(), u.files(), u.bytes() / 1e6,
            u.uploadedBytes() / 1e6, secs, u.messages() / secs, u.uploadedBytes() / 1e6 / secs);
        return 0;
      }
      Backup.Created b = Backup.online(s.db(), s.mail(), s.blobs(), s.config().dataDir(), dest, "darwinmail");
      double secs = (System.nanoTime() - t0) / 1e9;
      spec.commandLine().getOut().printf("%s%n%d messages, %d blobs (%d linked), %d files, %.1f MB in %.1f s%n",
          b.path(), b.messages(), b.blobs(), b.linked(), b.files(), b.bytes() / 1e6, secs);
      return 0;
    }
  }

  @Command(name = "list", description = "List the backups in DIR (default: <data_dir>/backup), or in"
      + " s3://BUCKET[/PREFIX] (complete ones only: an upload without its MANIFEST is not a backup).")
  static final class ListBackups implements Callable<Integer> {
    @ParentCommand
    BackupCommand parent;
    @Spec
    CommandSpec spec;
    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR")
    String dir;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      if (BackupS3Config.isBucket(dir)) {
        for (BucketBackup.Listed l : BucketBackup.list(target(parent.main, dir))) {
          out.println(line(l.name(), l.head()));
        }
        return 0;
      }
      for (Backup.Listed l : Backup.listBackups(folder(parent.main, dir == null ? null : Path.of(dir)))) {
        var h = l.head();
        String name = l.folder().getFileName().toString();
        if (h.isEmpty()) {
          out.println(name + "\tdatabase only (an automatic backup made by 0.2.0: no bodies, no manifest)");
        } else {
          out.println(line(name, h));
        }
      }
      return 0;
    }

    private static String line(String name, java.util.Map<String, String> h) {
      if (h.containsKey("error")) {
        return name + "\tunreadable: " + h.get("error");
      }
      return name + "\t" + h.getOrDefault("created", "?") + "\tDarwin Mail " + h.getOrDefault("written_by", "?")
          + "\tschema " + h.getOrDefault("database_schema", "?") + "\t" + h.getOrDefault("messages", "?")
          + " messages\t" + h.getOrDefault("blobs", "?") + " blobs";
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
      InBucket in = named.inBucket(parent.main);
      String b = in != null ? in.location() : named.resolve(parent.main).toString();
      Backup.Report r = in != null ? verifyInBucket(parent.main, in) : Backup.verify(Path.of(b));
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

  /**
   * How a server running on {@code dataDir} shows, or null: its control socket answers, or its Derby database is open
   * (what the CLI client itself looks at; {@code ControlProtocol}).
   */
  static String runningServer(Path dataDir) {
    if (ControlProtocol.answers(dataDir)) {
      return "its control socket " + ControlProtocol.socketPath(dataDir) + " answers";
    }
    if (ControlProtocol.databaseLocked(dataDir)) {
      return "its database " + dataDir.resolve(DataDir.DB) + " is in use by another process";
    }
    return null;
  }

  @Command(name = "restore", description = "Restore a verified backup into an empty data directory, or with"
      + " --replace over the data set it holds; its next start migrates it if it is older. NAME is a backup in"
      + " --dir, or a path.")
  static final class Restore implements Callable<Integer> {
    @ParentCommand
    BackupCommand parent;
    @Spec
    CommandSpec spec;
    @Mixin
    BackupName named;
    @Option(names = "--to", required = true, paramLabel = "DATA_DIR", description = "An empty (or absent) folder;"
        + " with --replace, a data directory.")
    Path to;
    @Option(names = "--replace", description = "DATA_DIR may hold a data set (the server stopped): the backup is"
        + " restored into DATA_DIR/" + RestoreReplace.STAGING + " and checked, then the data set is moved into"
        + " DATA_DIR/replaced-<UTC time>/ and the restored one in its place; DATA_DIR/backup stays.")
    boolean replace;

    @Override
    public Integer call() {
      InBucket in = named.inBucket(parent.main);
      Path target = folder(parent.main, to);
      String b = in != null ? in.name() : named.resolve(parent.main).getFileName().toString();
      // The bodies go where this configuration's [blobs] says: files in the data directory, or its bucket.
      org.darwinmail.config.BlobsConfig blobs = parent.main.cli.config(parent.main.config).blobs();
      try (Backup.BlobsInto into = blobs.s3() ? DarwinMail.Services.blobsInto(blobs) : null) {
        java.util.function.Function<Path, Backup.Restored> restore = dir -> in != null
            ? BucketBackup.restore(in.target(), in.name(), dir, into) : Backup.restore(named.resolve(parent.main),
                dir, into);
        RestoreReplace.Replaced replaced = null;
        Backup.Restored r;
        if (replace) {
          DarwinMail server = parent.main.cli.server();
          boolean here = server != null && sameDir(server.services().config().dataDir(), target);
          replaced = RestoreReplace.replace(target, dir -> here ? "this command reached it over its control socket"
              : runningServer(dir), restore);
          r = replaced.restored();
        } else {
          r = restore.apply(target);
        }
        String where = r.into() == null ? r.linked() + " linked"
            : r.into().uploaded() + " uploaded to bucket " + blobs.bucket() + ", " + r.into().there()
                + " there already";
        PrintWriter out = spec.commandLine().getOut();
        String done = "restored " + b + " into " + r.dataDir() + ": " + r.messages() + " messages, " + r.blobs()
            + " blobs (" + where + "), " + r.files() + " files";
        if (replaced == null) {
          out.println(done + "; point data_dir at it and start the server");
        } else if (replaced.aside() == null) {
          out.println(done + " (it held no data set); start the server");
        } else {
          out.println(done);
          out.println("the data set that was there is now in " + replaced.aside() + "/ (moved: "
              + String.join(", ", replaced.moved()) + "); " + DataDir.of(r.dataDir()).backup() + " stayed in place");
          out.println("start the server; once satisfied with the restored data, delete the old set: rm -rf "
              + replaced.aside());
        }
        return 0;
      }
    }

    private static boolean sameDir(Path a, Path b) {
      try {
        return Files.isSameFile(a, b);
      } catch (java.io.IOException e) {
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
      }
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
      out.println(b.enabled() ? "schedule: " + b.schedule() + " (UTC) into " + b.destination(cfg.dataDir())
          + ", keeping "
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
