package org.darwinmail.store;

import java.nio.file.Path;

/**
 * The layout of the data directory ({@code data_dir}): the one place in Java that names what lives under it. It is
 * the upgrade-by-disk-swap contract (a new appliance boots on the old data disk), so a name here changes only with
 * a {@link DataFormat} step. The appliance's Ansible templates (ansible/roles/darwinmail/templates,
 * ansible/roles/firstboot/templates) write the same paths and point here.
 *
 * <pre>
 * data_dir/
 *   FORMAT           the data format version ({@link DataFormat})
 *   db/              the Derby database ({@link Database})
 *   derby.log        Derby's own log
 *   blobs/           message bodies by content hash ({@link BlobStore})
 *   intake/          the journal of accepted messages not yet stored ({@link Intake})
 *   tls/cert.pem     the TLS certificate, self-signed at first start unless [tls] names one
 *   tls/key.pem      its key
 *   dkim/            the DKIM keys, per domain
 *   backup/          online backups (darwinmail backup)
 *   run/control.sock the control socket of the running server
 *   run/setup-code   the first-run wizard's one-time code, until setup is done (the admin listener)
 *   run/serve.lock   locked by a server from its first instant ({@link #markServer}): commands wait for it
 *   admin/           the admin console's accounts (accounts.json, Argon2id) and the wizard's state (setup.json)
 *   settings.toml    settings changed at run time (the wizard, the CLI), over the configuration file
 *   restore.lock     locked while a `backup restore --replace` runs ({@link RestoreReplace})
 *   restore-staging/ where that restore puts the backup before its swap (present only meanwhile)
 *   restore-replace.journal  its swap in progress (present only meanwhile; the next start finishes it)
 *   replaced-yyyyMMdd-HHmmss/  a data set a `backup restore --replace` set aside (the administrator deletes it)
 *   .appliance-setup-done  the appliance's first boot made the domain and postmaster of its OVF properties
 *                    (written by ansible/roles/firstboot/templates/setup.j2, never by the server)
 * </pre>
 */
public record DataDir(Path root) {
  public static final String FORMAT = "FORMAT";
  public static final String DB = "db";
  public static final String DERBY_LOG = "derby.log";
  public static final String BLOBS = "blobs";
  public static final String INTAKE = "intake";
  public static final String TLS = "tls";
  public static final String DKIM = "dkim";
  public static final String BACKUP = "backup";
  public static final String RUN = "run";
  public static final String SETTINGS = "settings.toml";
  public static final String ADMIN = "admin";
  public static final String APPLIANCE_SETUP_DONE = ".appliance-setup-done";
  public static final String RESTORE_LOCK = "restore.lock";
  public static final String RESTORE_STAGING = "restore-staging";
  public static final String RESTORE_JOURNAL = "restore-replace.journal";
  /** The prefix of a data set set aside, {@code replaced-<yyyyMMdd-HHmmss>}. */
  public static final String REPLACED = "replaced-";
  /** Every name directly under the data directory (but the {@link #REPLACED} folders). */
  public static final java.util.Set<String> NAMES = java.util.Set.of(FORMAT, DB, DERBY_LOG, BLOBS, INTAKE, TLS, DKIM,
      BACKUP, RUN, SETTINGS, ADMIN, APPLIANCE_SETUP_DONE, RESTORE_LOCK, RESTORE_STAGING, RESTORE_JOURNAL);

  public static DataDir of(Path root) {
    return new DataDir(root);
  }

  public Path format() {
    return root.resolve(FORMAT);
  }

  /** The lock a server holds from its first instant: {@link #markServer}. */
  public Path serveLock() {
    return root.resolve(RUN).resolve("serve.lock");
  }

  /**
   * Tells other processes that a server is starting or running on this data directory, from its first instant
   * (the mail listeners come before the database: ARCHITECTURE.md, "Start-up order"): an exclusive lock on
   * {@code run/serve.lock}, a file nothing else opens (a POSIX record lock is dropped when the process closes any
   * descriptor of its file), held until released or the process ends, a SIGKILL included. The file stays. Null when
   * it cannot be taken (another process holds it, or run/ is not writable here): the database's own lock then
   * decides, as before. Taken after {@link DataFormat#checkBeforeStart}: a refused start writes nothing.
   */
  public java.nio.channels.FileLock markServer() {
    java.nio.channels.FileChannel ch = null;
    try {
      java.nio.file.Files.createDirectories(root.resolve(RUN));
      ch = java.nio.channels.FileChannel.open(serveLock(), java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.WRITE);
      java.nio.channels.FileLock lock = ch.tryLock();
      if (lock != null) {
        return lock; // its channel stays open while it is held; closing the channel releases it
      }
    } catch (java.io.IOException | java.nio.channels.OverlappingFileLockException e) {
      // not writable here, or held in this JVM: no mark
    }
    if (ch != null) {
      try {
        ch.close();
      } catch (java.io.IOException ignored) {
        // nothing held
      }
    }
    return null;
  }

  /** Whether a server holds {@link #markServer}'s lock on {@code root} (starting or running). */
  public static boolean serverMarked(Path root) {
    return lockedElsewhere(of(root).serveLock());
  }

  /**
   * Whether a process holds an exclusive lock on {@code file} (this server's serve lock, Derby's dbex.lck): probed
   * with a shared lock on a read-only channel, no write permission needed; true for a lock held in this JVM (a
   * test's); false when it cannot tell (no such file, unreadable). Never call it from the process that holds the
   * lock: closing any channel on the file drops that process's own lock (POSIX record locks).
   */
  public static boolean lockedElsewhere(Path file) {
    if (!java.nio.file.Files.isRegularFile(file)) {
      return false;
    }
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
        java.nio.file.StandardOpenOption.READ)) {
      java.nio.channels.FileLock l = ch.tryLock(0, Long.MAX_VALUE, true);
      if (l == null) {
        return true;
      }
      l.release();
      return false;
    } catch (java.nio.channels.OverlappingFileLockException e) {
      return true;
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
  }

  public Path db() {
    return root.resolve(DB);
  }

  public Path derbyLog() {
    return root.resolve(DERBY_LOG);
  }

  public Path blobs() {
    return root.resolve(BLOBS);
  }

  public Path intake() {
    return root.resolve(INTAKE);
  }

  public Path tlsCert() {
    return root.resolve(TLS).resolve("cert.pem");
  }

  public Path tlsKey() {
    return root.resolve(TLS).resolve("key.pem");
  }

  public Path dkim() {
    return root.resolve(DKIM);
  }

  public Path backup() {
    return root.resolve(BACKUP);
  }

  public Path controlSocket() {
    return root.resolve(RUN).resolve("control.sock");
  }

  public Path setupCode() {
    return root.resolve(RUN).resolve("setup-code");
  }

  public Path adminAccounts() {
    return root.resolve(ADMIN).resolve("accounts.json");
  }

  public Path setupState() {
    return root.resolve(ADMIN).resolve("setup.json");
  }

  public Path settings() {
    return root.resolve(SETTINGS);
  }
}
