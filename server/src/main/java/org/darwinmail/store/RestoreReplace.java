package org.darwinmail.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.darwinmail.errors.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code darwinmail backup restore NAME --to DATA_DIR --replace} (issue 18; ARCHITECTURE.md, "Backups"): a backup
 * restored over the data set a data directory holds, in place, for a data directory that is a mount point (the
 * appliance's data disk at /var/lib/darwinmail: the folder itself cannot be renamed).
 *
 * <ol>
 *   <li>{@value #LOCK} is locked for the whole run (a second restore, or a server's start, waits for nothing: it
 *       refuses), and no server may run on the directory: the caller's probe (the CLI's: the control socket
 *       answers, or the Derby database is open, what the CLI itself looks at) finds none.</li>
 *   <li>The backup is restored into {@code DATA_DIR/}{@value #STAGING}{@code /} (the same file system: the moves
 *       below are renames), by the ordinary restore, which verifies the backup first and checks every copied file
 *       against the MANIFEST after.</li>
 *   <li>The journal {@value #JOURNAL} is written (atomically: a temporary file renamed, forced): the folder the old
 *       set goes to and the names it holds. From here on the swap is <b>finished, never undone</b>: the restored set
 *       is complete and checked, and it is what the administrator asked for.</li>
 *   <li>Every old name is renamed into {@code DATA_DIR/replaced-<UTC time>/}, then every name of the staging folder
 *       into {@code DATA_DIR}; the staging folder and the journal are removed. What stays in place: {@code backup/}
 *       (the backups: the restore reads from it), {@code lost+found}, the appliance's first-boot marker, earlier
 *       {@code replaced-*} folders and this class's own files.</li>
 * </ol>
 *
 * A crash (SIGKILL, power cut) at any point leaves one usable set: before the journal, the old one in place (the
 * staging folder is removed by whatever comes next); after it, the next {@code restore --replace} on the directory or
 * the next start of anything that opens it ({@code DarwinMail.Services.open}: the server, a CLI command run without
 * it) finishes the swap ({@link #recover}) before it opens the database. Each step is a rename, and each is redone
 * only when its source is still there and its target absent, so finishing twice is harmless.
 */
public final class RestoreReplace {
  private static final Logger log = LoggerFactory.getLogger(RestoreReplace.class);
  /** Where the backup is restored before the swap. */
  public static final String STAGING = DataDir.RESTORE_STAGING;
  /** The swap's journal: present from the restored set's check until the swap is complete. */
  public static final String JOURNAL = DataDir.RESTORE_JOURNAL;
  /** Locked while a restore --replace runs or a start finishes its swap. */
  public static final String LOCK = DataDir.RESTORE_LOCK;
  /** The old data set goes into {@code replaced-<yyyyMMdd-HHmmss>}. */
  public static final String REPLACED = DataDir.REPLACED;
  /** Longest journal read: a few dozen names. */
  private static final int MAX_JOURNAL = 64 * 1024;
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  /** Called after each step with its name; tests throw from it to stop the swap there, as a crash would. */
  static java.util.function.Consumer<String> afterStep = step -> {};

  private RestoreReplace() {}

  /** What {@link #replace} did: the restore, the folder the old set went to (null: there was none), its names. */
  public record Replaced(Backup.Restored restored, Path aside, List<String> moved) {}

  /** Whether {@code name}, directly under a data directory, stays in place (is not part of the data set). */
  public static boolean stays(String name) {
    return name.equals(DataDir.BACKUP) || name.equals("lost+found") || name.equals(DataDir.APPLIANCE_SETUP_DONE)
        || name.startsWith(REPLACED) || name.equals(STAGING) || name.startsWith("." + STAGING)
        || name.equals(JOURNAL) || name.equals(JOURNAL + ".new") || name.equals(LOCK);
  }

  /**
   * Restores into {@code dataDir} whatever data set it holds: {@code restore} fills the staging folder it is given
   * (absent), then the swap. {@code runningServer} says how a server running on a data directory shows (null: none
   * runs); it is asked before the restore and again before the swap.
   */
  public static Replaced replace(Path dataDir, Function<Path, String> runningServer,
      Function<Path, Backup.Restored> restore) {
    Path root = dataDir.toAbsolutePath();
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      throw new StoreException("cannot create " + root + ": " + Errors.reason(e));
    }
    try (FileChannel lock = lock(root)) {
      checkNoServer(root, runningServer);
      finish(root); // an earlier swap, interrupted
      Path staging = root.resolve(STAGING);
      if (Files.exists(staging)) {
        Backup.deleteTree(staging); // an earlier restore, interrupted before its swap: never in use
      }
      Backup.Restored r;
      try {
        r = restore.apply(staging);
      } catch (RuntimeException e) {
        Backup.deleteTree(staging); // the data set in place was not touched
        throw e;
      }
      afterStep.accept("restored");
      if (!Files.isRegularFile(staging.resolve(DataDir.DB).resolve("service.properties"))) {
        throw new StoreException("the restored data in " + staging + " has no database; " + root + " unchanged");
      }
      checkNoServer(root, runningServer); // once more: a server started meanwhile would have its database moved away
      List<String> old = dataSet(root);
      String aside = REPLACED + STAMP.format(Instant.now());
      for (int i = 2; Files.exists(root.resolve(aside)); i++) {
        aside = REPLACED + STAMP.format(Instant.now()) + "-" + i;
      }
      writeJournal(root, aside, old);
      afterStep.accept("journal");
      swap(root, aside, old);
      return new Replaced(new Backup.Restored(root, r.files(), r.blobs(), r.linked(), r.messages(), r.into()),
          old.isEmpty() ? null : root.resolve(aside), old);
    } catch (IOException e) {
      throw new StoreException("cannot restore into " + root + ": " + Errors.reason(e) + (Files.exists(
          root.resolve(JOURNAL)) ? " (the swap is finished by the next restore --replace or start)" : "; " + root
          + " unchanged"));
    }
  }

  /**
   * Finishes a swap a crash interrupted (the journal is there), and removes a staging folder left by a restore
   * interrupted before its swap; nothing to do (and nothing written) otherwise. Called by every start
   * ({@code DarwinMail.Services.open}) before the database is opened. Refused while a restore runs.
   */
  public static void recover(Path dataDir) {
    Path root = dataDir.toAbsolutePath();
    boolean pending = Files.exists(root.resolve(JOURNAL)) || Files.exists(root.resolve(STAGING));
    if (!pending && !Files.exists(root.resolve(LOCK))) {
      return;
    }
    try (FileChannel lock = lock(root)) {
      if (finish(root)) {
        log.warn("finished the restore --replace interrupted on {}: the restored data set is in place", root);
      } else {
        // A restore interrupted before its swap: its staging folder, and a bucket backup's download beside it.
        List<Path> left;
        try (Stream<Path> s = Files.list(root)) {
          left = s.filter(p -> p.getFileName().toString().equals(STAGING)
              || p.getFileName().toString().startsWith("." + STAGING)).toList();
        }
        for (Path p : left) {
          Backup.deleteTree(p);
          log.warn("removed {}: a restore --replace interrupted before its swap (the data set was not changed)", p);
        }
      }
    } catch (IOException e) {
      if (!pending) {
        return; // only the lock file of an earlier run, not ours to open (another user): nothing to finish
      }
      throw new StoreException("cannot finish the restore --replace interrupted on " + root + ": "
          + Errors.reason(e));
    }
  }

  private static FileChannel lock(Path root) throws IOException {
    FileChannel ch = FileChannel.open(root.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    try {
      FileLock l = ch.tryLock();
      if (l != null) {
        return ch;
      }
    } catch (OverlappingFileLockException e) {
      // held in this process
    }
    ch.close();
    throw new StoreException("a `darwinmail backup restore --replace` is running on " + root
        + ": wait until it has finished");
  }

  private static void checkNoServer(Path root, Function<Path, String> runningServer) {
    String how = runningServer.apply(root);
    if (how != null) {
      throw running(root, how);
    }
  }

  private static StoreException running(Path root, String how) {
    return new StoreException("a server is running on " + root + " (" + how + "): stop it first (systemctl stop"
        + " darwinmail); nothing restored");
  }

  /** The names directly under {@code root} that belong to its data set (all but those that {@link #stays}). */
  private static List<String> dataSet(Path root) throws IOException {
    try (Stream<Path> s = Files.list(root)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> !stays(n)).sorted().toList();
    }
  }

  private static void writeJournal(Path root, String aside, List<String> old) throws IOException {
    StringBuilder b = new StringBuilder("# darwinmail backup restore --replace: the swap in progress (finished by"
        + " the next restore --replace or start)\naside=" + aside + "\n");
    old.forEach(n -> b.append("old=").append(n).append('\n'));
    Path tmp = root.resolve(JOURNAL + ".new");
    Files.writeString(tmp, b.toString(), StandardCharsets.UTF_8);
    BlobStore.force(tmp);
    Files.move(tmp, root.resolve(JOURNAL), StandardCopyOption.ATOMIC_MOVE);
    BlobStore.force(root);
  }

  /** Finishes the journal's swap; false when there is none. */
  private static boolean finish(Path root) throws IOException {
    Path journal = root.resolve(JOURNAL);
    if (!Files.exists(journal)) {
      Files.deleteIfExists(root.resolve(JOURNAL + ".new")); // written before a crash, never in force
      return false;
    }
    if (Files.size(journal) > MAX_JOURNAL) {
      throw new IOException(journal + " is over " + MAX_JOURNAL + " bytes: not a journal this release wrote");
    }
    String aside = null;
    List<String> old = new ArrayList<>();
    for (String line : Files.readAllLines(journal, StandardCharsets.UTF_8)) {
      if (line.startsWith("aside=")) {
        aside = line.substring("aside=".length());
      } else if (line.startsWith("old=")) {
        old.add(line.substring("old=".length()));
      }
    }
    if (aside == null || !aside.startsWith(REPLACED) || aside.contains("/")
        || old.stream().anyMatch(n -> n.contains("/") || n.isEmpty() || n.equals("..") || n.equals("."))) {
      throw new IOException(journal + " is damaged");
    }
    swap(root, aside, old);
    return true;
  }

  /**
   * The swap, from wherever it stopped: each old name into {@code aside} unless it is there already, then each name
   * of the staging folder into {@code root}. Every old name is aside before the first new one comes in, so a name
   * in both places is the old one aside and, in {@code root}, the new one.
   */
  private static void swap(Path root, String aside, List<String> old) throws IOException {
    Path to = root.resolve(aside);
    Path staging = root.resolve(STAGING);
    if (!old.isEmpty()) {
      Files.createDirectories(to);
      for (String n : old) {
        if (Files.exists(root.resolve(n), java.nio.file.LinkOption.NOFOLLOW_LINKS)
            && !Files.exists(to.resolve(n), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.move(root.resolve(n), to.resolve(n), StandardCopyOption.ATOMIC_MOVE);
          afterStep.accept("aside " + n);
        }
      }
      BlobStore.force(to);
      BlobStore.force(root);
    }
    if (Files.isDirectory(staging)) {
      List<String> fresh;
      try (Stream<Path> s = Files.list(staging)) {
        fresh = s.map(p -> p.getFileName().toString()).sorted().toList();
      }
      for (String n : fresh) {
        Files.move(staging.resolve(n), root.resolve(n), StandardCopyOption.ATOMIC_MOVE);
        afterStep.accept("in " + n);
      }
      BlobStore.force(root);
      Files.delete(staging);
    }
    Files.delete(root.resolve(JOURNAL));
    BlobStore.force(root);
    afterStep.accept("done");
  }
}
