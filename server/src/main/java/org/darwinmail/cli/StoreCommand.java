package org.darwinmail.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.BlobsConfig;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.config.StoreConfig;
import org.darwinmail.store.BlobLocation;
import org.darwinmail.store.DataDir;
import org.darwinmail.store.StoreMigration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code darwinmail store migrate} (issue 20; ARCHITECTURE.md, "Moving a store between engines"): a stopped node's
 * Derby data directory into PostgreSQL (and its bodies into S3), or a PostgreSQL store back into a new Derby data
 * directory, with {@link StoreMigration}. The source is the store {@code --config} names; the target is the store the
 * configuration file {@code --target} names (the configuration the node is to run with afterwards).
 */
@Command(name = "store", description = "Move the store between engines.", subcommands = StoreCommand.Migrate.class)
final class StoreCommand {
  @ParentCommand
  Main main;

  @Command(name = "migrate", description = "On a stopped node: copy the store --config names (Derby, or PostgreSQL"
      + " with --to derby) into the store the configuration file --target names, resumably, then verify both sides"
      + " (row counts, a digest per table, every body hashed). Exit status 1 when anything differs.")
  static final class Migrate implements Callable<Integer> {
    @ParentCommand
    StoreCommand parent;
    @Spec
    CommandSpec spec;
    @Option(names = "--to", required = true, paramLabel = "ENGINE", description = "postgresql or derby.")
    String to;
    @Option(names = "--target", required = true, paramLabel = "FILE", description = "The configuration the node"
        + " runs with afterwards: its [store] and [blobs] (and, with --to derby, its data_dir, a new directory).")
    Path targetFile;
    @Option(names = "--verify-only", description = "Compare the two stores without copying anything.")
    boolean verifyOnly;
    @Option(names = "--batch", paramLabel = "ROWS", defaultValue = "1000", description = "Rows copied per"
        + " transaction on the target (default: ${DEFAULT-VALUE}).")
    int batch;

    @Override
    public Integer call() {
      Main main = parent.main;
      PrintWriter out = spec.commandLine().getOut();
      if (batch < 1 || batch > 100_000) {
        throw new CliException("--batch " + batch + ": give 1 to 100000 rows");
      }
      ServerConfig source = main.loadConfig();
      Path sourceDir = source.dataDir().toAbsolutePath().normalize();
      if (main.cli.server() != null) {
        throw new CliException("the server is running on " + sourceDir + ": stop it (on every node sharing its"
            + " store), then run darwinmail store migrate again");
      }
      if (!Files.isRegularFile(targetFile)) {
        throw new CliException("--target " + targetFile + ": no such configuration file");
      }
      ServerConfig target = ConfigLoader.load(targetFile);
      Path targetDir = target.dataDir().toAbsolutePath().normalize();
      switch (to) {
        case StoreConfig.POSTGRESQL -> {
          if (source.store().postgresql()) {
            throw new CliException("the store is already on PostgreSQL ([store] engine in " + main.config + ")");
          }
          if (!target.store().postgresql()) {
            throw new CliException("--target " + targetFile + " has no [store] engine = \"postgresql\"");
          }
          if (!targetDir.equals(sourceDir)) {
            throw new CliException("--target " + targetFile + " names data_dir " + targetDir + ", not this node's "
                + sourceDir + ": the node keeps its data directory (its certificate, keys, settings)");
          }
          if (!Files.isDirectory(DataDir.of(sourceDir).db())) {
            throw new CliException("no data yet in " + sourceDir + ": nothing to migrate");
          }
          if (!verifyOnly && StoreMigration.journalPending(sourceDir)) {
            // Mail accepted into the intake journal but not stored yet is stored now (Derby's own start does it).
            DarwinMail.Services.open(source).close();
          }
        }
        case StoreConfig.DERBY -> {
          if (!source.store().postgresql()) {
            throw new CliException("the store is already on Derby ([store] engine in " + main.config + ")");
          }
          if (target.store().postgresql()) {
            throw new CliException("--target " + targetFile + " has [store] engine = \"postgresql\"");
          }
          if (targetDir.equals(sourceDir)) {
            throw new CliException("--target " + targetFile + " names this node's data_dir " + sourceDir + ": give"
                + " a new, empty directory for the Derby store");
          }
          requireEmptyOrStarted(targetDir);
          if (!verifyOnly) {
            copyNodeFiles(sourceDir, targetDir);
          }
        }
        default -> throw new CliException("--to " + to + ": give postgresql or derby");
      }
      try (StoreMigration.Side from = side(source, targetDir);
          StoreMigration.Side into = side(target, targetDir)) {
        StoreMigration m = new StoreMigration(from, into, line -> {
          out.println("copied " + line);
          out.flush();
        }).batch(batch);
        if (!verifyOnly) {
          out.println("migrating " + from.id() + " into " + into.id());
          StoreMigration.Copied c = m.migrate();
          out.printf("copied %d rows and %d bodies (%d already there) in %.1f s%n", c.rows(), c.blobsCopied(),
              c.blobsPresent(), c.took().toMillis() / 1000.0);
        }
        StoreMigration.Report r = m.verify();
        r.tables().forEach((t, n) -> out.println("  " + t + ": " + n));
        r.problems().forEach(out::println);
        String summary = String.format("%d tables and %d bodies checked in %.1f s", r.tables().size(), r.blobs(),
            r.took().toMillis() / 1000.0);
        if (!r.ok()) {
          out.flush();
          throw new CliException(r.problems().size() + " difference(s) between " + from.id() + " and " + into.id()
              + " (" + summary + ")");
        }
        out.println("verified: " + summary);
        if (!verifyOnly && targetDir.equals(sourceDir) && !from.location().equals(into.location())) {
          BlobLocation.record(DataDir.of(targetDir).blobs(), into.location()); // the node's bodies are there now
        }
      }
      out.println("Put these lines in place of [store] and [blobs] in " + main.config + " (as in " + targetFile
          + "), then start the server:");
      out.print(configLines(target, !targetDir.equals(sourceDir)));
      out.flush();
      return 0;
    }

    /** The store {@code c} names, opened as a side of the migration ({@link StoreMigration#open}). */
    static StoreMigration.Side side(ServerConfig c, Path stagingDir) {
      StoreConfig st = c.store();
      BlobsConfig b = c.blobs();
      org.darwinmail.s3.S3Client.Settings s3 = null;
      if (b.s3()) {
        try {
          s3 = new org.darwinmail.s3.S3Client.Settings(java.net.URI.create(b.endpoint()), b.bucket(), b.region(),
              b.pathStyle(), org.darwinmail.s3.Credentials.read(Path.of(b.credentialsFile())),
              java.time.Duration.ofSeconds(30));
        } catch (IOException e) {
          throw new CliException("blobs.credentials_file: " + org.darwinmail.errors.Errors.describe(e));
        }
      }
      return StoreMigration.open(c.dataDir(), st.postgresql() ? st.url() : null, st.user(),
          st.postgresql() ? Path.of(st.passwordFile()) : null, s3, b.cacheBytes(), stagingDir);
    }

    /** A target Derby data directory is new: absent, empty, or the one an interrupted run of this command began. */
    private static void requireEmptyOrStarted(Path dir) {
      if (!Files.isDirectory(dir)) {
        return;
      }
      try (var s = Files.list(dir)) {
        var names = s.map(p -> p.getFileName().toString()).toList();
        if (!names.isEmpty() && !names.contains(DataDir.DB)) {
          throw new CliException("the target data directory " + dir + " is not empty: give a new directory");
        }
      } catch (IOException e) {
        throw new CliException("cannot read " + dir + ": " + org.darwinmail.errors.Errors.reason(e));
      }
    }

    /** The node's own files (certificate, DKIM keys, settings, console accounts) go with it, where not there yet. */
    private static void copyNodeFiles(Path from, Path to) {
      try {
        Files.createDirectories(to);
        for (String name : new String[] {DataDir.TLS, DataDir.DKIM, DataDir.ADMIN, DataDir.SETTINGS}) {
          Path src = from.resolve(name);
          if (!Files.exists(src)) {
            continue;
          }
          try (var files = Files.walk(src)) {
            for (Path p : files.toList()) {
              Path dst = to.resolve(from.relativize(p).toString());
              if (Files.exists(dst)) {
                continue;
              }
              Files.copy(p, dst, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
            }
          }
        }
      } catch (IOException e) {
        throw new CliException("cannot copy the node's files into " + to + ": "
            + org.darwinmail.errors.Errors.reason(e));
      }
    }

    /** The [store] and [blobs] lines of {@code c} (and data_dir when it changes), as TOML. */
    static String configLines(ServerConfig c, boolean dataDir) {
      StringBuilder sb = new StringBuilder();
      if (dataDir) {
        sb.append("data_dir = ").append(quote(c.dataDir().toString())).append('\n');
      }
      StoreConfig s = c.store();
      sb.append("[store]\nengine = ").append(quote(s.engine())).append('\n');
      if (s.postgresql()) {
        sb.append("url = ").append(quote(s.url())).append("\nuser = ").append(quote(s.user()))
            .append("\npassword_file = ").append(quote(s.passwordFile())).append('\n');
      }
      BlobsConfig b = c.blobs();
      sb.append("[blobs]\nbackend = ").append(quote(b.backend())).append('\n');
      if (b.s3()) {
        sb.append("endpoint = ").append(quote(b.endpoint())).append("\nbucket = ").append(quote(b.bucket()))
            .append("\nregion = ").append(quote(b.region())).append("\ncredentials_file = ")
            .append(quote(b.credentialsFile())).append("\npath_style = ").append(b.pathStyle()).append('\n');
      }
      return sb.toString();
    }

    private static String quote(String s) {
      return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
  }
}
