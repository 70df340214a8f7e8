package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Where the blobs' content lives (ARCHITECTURE.md, "The storage seam"): {@link FileBlobs} ({@code [blobs] backend =
 * "files"}, the data directory) or {@link S3Blobs} (an S3 bucket). {@link BlobStore} stays in front of either: it
 * hashes what is written (staged in {@code blobs/tmp/} on the local disk), holds the claims and the per-hash locks,
 * and decides what to collect; a backend only keeps content under a hash. Hashes given here are checked (64
 * lower-case hex digits).
 *
 * <p>The methods marked "under the hash's lock" are called by {@link BlobStore} with that lock held.
 */
public interface BlobBackend extends AutoCloseable {
  /**
   * Under the hash's lock: when a whole blob of {@code size} bytes is stored under {@code hash}, marks it as
   * written now (so the collector's grace period starts again) and returns true; false when absent or torn.
   */
  boolean reuse(String hash, long size) throws IOException;

  /** Under the hash's lock, when not reused: the staged file becomes the blob, or is kept for {@link #settle}. */
  void place(Path staged, String hash) throws IOException;

  /**
   * With the blob claimed, after {@link #reuse}/{@link #place}: makes it durable (files: one fsync; S3: the upload,
   * with its digest checked by the server, unless it was reused). The blob survives a crash when this returns.
   */
  void settle(Path staged, String hash, long size, boolean reused) throws IOException;

  /** Under the hash's lock, when not reused: writes content held in memory under its hash; maybe not durable yet. */
  void write(String hash, byte[] bytes) throws IOException;

  /** Makes sure the blob holds exactly {@code bytes} (whose SHA-256 is {@code hash}), writing it when not. */
  void repair(String hash, byte[] bytes) throws IOException;

  /** Makes a blob written by {@link #write} durable; nothing when it is gone or already is. */
  void force(String hash) throws IOException;

  /** Whether {@link #write} is durable when it returns ({@link #force} then does nothing). */
  boolean durableOnWrite();

  /** The content, streamed; {@link java.nio.file.NoSuchFileException} when absent. */
  InputStream open(String hash) throws IOException;

  /** A local file holding the content (the blob itself, or a copy kept in a bounded local cache). */
  Path file(String hash) throws IOException;

  boolean exists(String hash) throws IOException;

  /** When the blob was last written or reused; null when absent. */
  Instant written(String hash) throws IOException;

  /** Removes the blob; an absent one is no error. */
  void delete(String hash) throws IOException;

  /** Visits every stored blob (and anything else under the store's names); the visitor says which to remove. */
  int sweep(Visitor v) throws IOException;

  /** One stored name and when it was last written; true removes it. */
  interface Visitor {
    boolean remove(String name, Instant written);
  }

  /** For logs: where the blobs are. */
  String describe();

  @Override
  default void close() {}
}
