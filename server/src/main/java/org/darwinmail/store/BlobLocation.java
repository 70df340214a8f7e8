package org.darwinmail.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which backend holds a data directory's blobs, recorded in {@code blobs/location} ("files", or "s3 ENDPOINT
 * BUCKET"), so that a start with another [blobs] setting is refused in one line instead of serving mail whose bodies
 * are elsewhere (every FETCH failing) or sweeping a bucket that belongs to another data directory. A data directory
 * without the file is a files one when its fan-out folders hold any blob, and new otherwise.
 */
public final class BlobLocation {
  public static final String FILE = "location";

  private BlobLocation() {}

  /** Refuses (StoreException) when the recorded location is not {@code where}; records it when new. */
  public static void check(Path root, String where) {
    Path f = root.resolve(FILE);
    try {
      String recorded;
      if (Files.exists(f)) {
        byte[] b;
        try (var in = Files.newInputStream(f)) {
          b = in.readNBytes(4096);
        }
        recorded = new String(b, StandardCharsets.UTF_8).strip();
      } else {
        recorded = holdsFileBlobs(root) ? "files" : null;
      }
      if (recorded != null && !recorded.equals(where)) {
        throw new StoreException("[blobs] says the message bodies are in " + describe(where)
            + ", but this data directory's are in " + describe(recorded) + " (" + f + "): copy them over and"
            + " change " + f + ", or put [blobs] back");
      }
      if (recorded == null || !Files.exists(f)) {
        write(root, where);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot check where the blobs are (" + f + ")", e);
    }
  }

  /**
   * Records {@code where} whatever was recorded before: the switch of a data directory to the store a finished
   * {@link StoreMigration} copied its bodies to.
   */
  public static void record(Path root, String where) {
    try {
      write(root, where);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot record where the blobs are (" + root.resolve(FILE) + ")", e);
    }
  }

  private static void write(Path root, String where) throws IOException {
    Files.createDirectories(root);
    Path tmp = root.resolve(FILE + ".tmp");
    Files.writeString(tmp, where + "\n", StandardCharsets.UTF_8);
    BlobStore.force(tmp);
    Files.move(tmp, root.resolve(FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    BlobStore.force(root);
  }

  private static String describe(String where) {
    return where.equals("files") ? "the data directory (backend \"files\")" : "\"" + where + "\"";
  }

  private static boolean holdsFileBlobs(Path root) throws IOException {
    if (!Files.isDirectory(root)) {
      return false;
    }
    try (DirectoryStream<Path> fans = Files.newDirectoryStream(root, p -> p.getFileName().toString().length() == 2)) {
      for (Path fan : fans) {
        try (DirectoryStream<Path> blobs = Files.newDirectoryStream(fan)) {
          if (blobs.iterator().hasNext()) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
