package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Properties;
import org.darwinmail.errors.Errors;
import org.darwinmail.release.Release;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data format manifest {@code <data_dir>/FORMAT} (ARCHITECTURE.md, "The data directory"): the release that last
 * wrote the data directory, the version of each persistent format in it, and the oldest release that reads them all.
 * {@link #check} reads it at start, before anything is written: a release that meets data newer than it understands
 * refuses to start with one line (issue 18) instead of running on a schema it does not know. {@link #write} records
 * this release's formats after a successful start-up migration.
 */
public final class DataFormat {
  private static final Logger log = LoggerFactory.getLogger(DataFormat.class);
  static final String FILE = DataDir.FORMAT;
  /**
   * The oldest release that reads what this one writes: 0.4.0 brings schema 9 (V009, the IMAP save date), which
   * 0.3.0 (schema 8) does not know; 0.3.0 brought 8 (V008, the IMAP \Recent mark and subscriptions that outlive their
   * mailbox), 0.2.0 knew up to 7, 0.1.0 up to 6 and has no FORMAT check. A release that adds a format step sets this
   * to its own version.
   */
  static final String READABLE_FROM = "0.4.0";
  /** A manifest is a few lines; a longer file is not one. */
  private static final int MAX_BYTES = 16 * 1024;

  /** A persistent format: its key in the manifest, its name in a refusal, and the version this release writes. */
  record Format(String key, String name, int version) {}

  static final Format[] FORMATS = {
      new Format("database_schema", "database schema", Database.SCHEMA),
      new Format("intake_journal", "intake journal format", Intake.FORMAT),
      new Format("blob_layout", "blob layout", BlobStore.LAYOUT)};

  private DataFormat() {}

  /** The manifest this release writes. */
  static String contents() {
    StringBuilder b = new StringBuilder()
        .append("# Darwin Mail's data formats (ARCHITECTURE.md, \"The data directory\").")
        .append(" Written at start: do not edit.\n")
        .append("written_by=").append(Release.VERSION).append('\n')
        .append("readable_from=").append(READABLE_FROM).append('\n');
    for (Format f : FORMATS) {
      b.append(f.key()).append('=').append(f.version()).append('\n');
    }
    return b.toString();
  }

  /**
   * Refuses (a {@link StoreException} with one line) when {@code dataDir}'s manifest names a format newer than this
   * release writes, or says the data is readable only from a release newer than this one. Reads only: writes
   * nothing, creates nothing; no manifest (a new directory, or data of 0.1.0) passes.
   */
  /**
   * What a server checks before anything else, its listeners included: the manifest ({@link #check}) and the intake
   * journal's segments ({@link Intake#checkReadable}). Reads only; each is checked again where the store opens.
   */
  public static void checkBeforeStart(Path dataDir) {
    check(dataDir);
    Intake.checkReadable(DataDir.of(dataDir).intake());
  }

  static void check(Path dataDir) {
    Path file = DataDir.of(dataDir).format();
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes(MAX_BYTES + 1);
      if (bytes.length > MAX_BYTES) {
        throw unreadable(file, "longer than " + MAX_BYTES + " bytes");
      }
      p.load(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
    } catch (NoSuchFileException e) {
      Intake.checkReadable(dataDir.resolve("intake"));
      return;
    } catch (IOException | IllegalArgumentException e) {
      throw unreadable(file, e instanceof IOException io ? Errors.reason(io) : e.getMessage());
    }
    String writer = p.getProperty("written_by", "an unknown release");
    for (Format f : FORMATS) {
      String v = p.getProperty(f.key());
      if (v == null) {
        continue;
      }
      int found;
      try {
        found = Integer.parseInt(v.strip());
      } catch (NumberFormatException e) {
        throw unreadable(file, f.key() + " is not a number: " + v);
      }
      if (found > f.version()) {
        throw newer(dataDir, "Darwin Mail " + writer, f.name() + " " + found + ", this release reads up to "
            + f.version(), "Darwin Mail " + writer + " or newer");
      }
    }
    String from = p.getProperty("readable_from");
    if (from != null && Release.compare(from, Release.VERSION) > 0) {
      throw newer(dataDir, "Darwin Mail " + writer, "readable from Darwin Mail " + from + " on, this is "
          + Release.VERSION, "Darwin Mail " + from + " or newer");
    }
    // A journal segment of a newer format, whatever the manifest says (one lost, or restored from elsewhere).
    Intake.checkReadable(dataDir.resolve("intake"));
  }

  /** The one refusal line for data newer than this release understands. */
  static StoreException newer(Path dataDir, String writer, String found, String fix) {
    return new StoreException("the data in " + dataDir + " was written by " + writer + " (" + found + "); start "
        + fix + " on it, or restore a backup taken before the upgrade");
  }

  private static StoreException unreadable(Path file, String reason) {
    return new StoreException("cannot read the data format manifest " + file + " (" + reason + "); restore it from"
        + " a backup, or delete it to start anyway (the database's own schema number is still checked)");
  }

  /**
   * Writes this release's manifest unless the file already says exactly that: a temporary file, fsync, rename over
   * the old one, fsync of the folder (a crash leaves the old manifest or the new one). A failure only warns: the
   * database's schema numbers still stop an older release ({@link Database}), and a start on a full disk must
   * not fail for want of these few bytes.
   */
  static void write(Path dataDir) {
    Path file = DataDir.of(dataDir).format();
    String text = contents();
    try {
      if (Files.isRegularFile(file) && Files.size(file) <= MAX_BYTES && Files.readString(file).equals(text)) {
        return;
      }
      Path tmp = dataDir.resolve(FILE + ".new");
      Files.writeString(tmp, text);
      BlobStore.force(tmp);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      BlobStore.force(dataDir);
    } catch (IOException e) {
      log.warn("cannot write the data format manifest {} ({}); the next start tries again", file, Errors.reason(e));
    }
  }
}
