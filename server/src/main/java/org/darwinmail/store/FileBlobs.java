package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.HexFormat;
import java.util.UUID;

/**
 * The blobs as files in the data directory, {@code blobs/ab/<sha-256>} ({@code [blobs] backend = "files"}, the
 * default): a staged file is renamed to its hash and forced by that name (see {@link BlobStore.BlobWriter#commit});
 * a re-used file has its modification time set to now, which is what the collector's grace period reads. Backups
 * hard-link these files ({@link Backup}).
 */
public final class FileBlobs implements BlobBackend {
  private static final HexFormat HEX = HexFormat.of();
  private final Path root;
  private final Path tmp;

  public FileBlobs(Path root) {
    this.root = root;
    this.tmp = root.resolve("tmp");
    try {
      for (int i = 0; i < 256; i++) {
        Files.createDirectories(root.resolve(HEX.toHexDigits((byte) i)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create blob store " + root, e);
    }
  }

  Path path(String hash) {
    return root.resolve(hash.substring(0, 2)).resolve(hash);
  }

  /**
   * An existing file of the blob's size is about to be taken for a new copy of its content: its modification time
   * is set to now, so that the collector leaves it alone for its grace period. An existing file is kept only when
   * its size is the message's: after a power loss a name whose fsync never ran can be there with less data (ext4
   * commits a rename before delayed allocation writes the blocks), and it must not be taken for the stored copy.
   */
  @Override
  public boolean reuse(String hash, long size) throws IOException {
    Path target = path(hash);
    if (sizeOf(target) != size) {
      return false;
    }
    try {
      Files.setLastModifiedTime(target, FileTime.from(Instant.now()));
      return true;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /** Absent, or torn (no row refers to a torn name): this whole copy replaces it, by rename. */
  @Override
  public void place(Path staged, String hash) throws IOException {
    Files.move(staged, path(hash), StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Forces the file by its name, after the rename: a writer of the same content may have renamed its own copy over
   * it meanwhile, and what must be durable is the file the name points to (BlobWriter#commit says why one sync).
   */
  @Override
  public void settle(Path staged, String hash, long size, boolean reused) throws IOException {
    BlobStore.force(path(hash));
  }

  /** Written over an existing file, never truncated first: a reader of the same content sees it whole throughout. */
  @Override
  public void write(String hash, byte[] bytes) throws IOException {
    try (FileChannel ch = openForWriting(path(hash))) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      long pos = 0;
      while (b.hasRemaining()) {
        pos += ch.write(b, pos);
      }
      ch.truncate(bytes.length);
    }
  }

  private static FileChannel openForWriting(Path file) throws IOException {
    try {
      return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (NoSuchFileException e) {
      Files.createDirectories(file.getParent()); // the fan-out folders are made at start; recreated if removed
      return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }
  }

  /** After a crash, a blob written but not yet forced may be missing, short or wrong: read, hashed, replaced. */
  @Override
  public void repair(String hash, byte[] bytes) throws IOException {
    Path target = path(hash);
    if (sizeOf(target) == bytes.length && HEX.formatHex(BlobStore.sha256().digest(Files.readAllBytes(target)))
        .equals(hash)) {
      return;
    }
    Path tmpFile = tmp.resolve(UUID.randomUUID() + ".tmp");
    Files.write(tmpFile, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    Files.move(tmpFile, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public void force(String hash) throws IOException {
    try {
      BlobStore.force(path(hash));
    } catch (NoSuchFileException e) {
      // collected
    }
  }

  @Override
  public boolean durableOnWrite() {
    return false;
  }

  @Override
  public InputStream open(String hash) throws IOException {
    return Files.newInputStream(path(hash));
  }

  @Override
  public Path file(String hash) {
    return path(hash);
  }

  @Override
  public boolean exists(String hash) {
    return Files.exists(path(hash));
  }

  @Override
  public Instant written(String hash) throws IOException {
    try {
      return Files.getLastModifiedTime(path(hash)).toInstant();
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  @Override
  public void delete(String hash) throws IOException {
    Files.deleteIfExists(path(hash));
  }

  /** Every regular file in the fan-out folders (not tmp/, which the store sweeps, nor {@link BlobLocation#FILE}). */
  @Override
  public int sweep(Visitor v) throws IOException {
    int[] removed = {0};
    // walkFileTree hands each file's attributes from the walk's own stat: one system call a blob (Files.walk, then
    // isRegularFile and getLastModifiedTime, made three).
    Files.walkFileTree(root, java.util.Set.of(), 2, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        return dir.equals(tmp) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path p, BasicFileAttributes attrs) throws IOException {
        if (attrs.isRegularFile() && !p.getParent().equals(root)
            && v.remove(p.getFileName().toString(), attrs.lastModifiedTime().toInstant())) {
          Files.deleteIfExists(p);
          removed[0]++;
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path p, IOException e) throws IOException {
        if (e instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE; // collected meanwhile
        }
        throw e;
      }
    });
    return removed[0];
  }

  /** The file's size, or -1 when there is none; without an exception for a missing file (a stat or two). */
  static long sizeOf(Path file) {
    java.io.File f = file.toFile();
    long n = f.length();
    return n > 0 || f.exists() ? n : -1;
  }

  @Override
  public String describe() {
    return "files in " + root;
  }
}
