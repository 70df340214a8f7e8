package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.darwinmail.s3.S3Client;

/**
 * The blobs as objects in an S3 bucket ({@code [blobs] backend = "s3"}), each under its SHA-256 in hex as its key:
 * content-addressed, a blob is written once under its hash and never changed, which is what S3 keeps well.
 *
 * <p>A blob is staged on the local disk as with files ({@code blobs/tmp/}, where its hash is computed), then
 * uploaded in {@link #settle} with its SHA-256 and MD5, which the server checks (S3Client): the upload is answered
 * before {@link BlobStore.BlobWriter#commit} returns, so before the row that refers to the blob commits. A blob
 * held in memory (the intake journal's) is uploaded by {@link #write}, durable when it returns. Reads stream the
 * object ({@link #open}); a reader that wants a file ({@link #file}) gets a copy in {@code blobs/cache/}, checked
 * against its hash and kept in a least-recently-used cache of bounded size (emptied at start).
 *
 * <p>The collector's grace period needs "written or re-used recently": this process remembers when it uploaded or
 * re-used each blob ({@link #recent}, the last {@link #RECENT} of them) and otherwise asks the object's
 * Last-Modified. The bucket belongs to one data directory: the start-up sweep deletes every object named like a
 * blob that no row refers to (other keys are left alone).
 *
 * <p>Shared by several nodes (on PostgreSQL), what this process remembers is not the truth: another node's
 * collector may delete an object this one uploaded a minute ago. Then nothing is re-used (every commit uploads,
 * which also renews the object's Last-Modified, the grace period every node's collector reads) and whether an object
 * exists is asked of the bucket each time (the claim before a row refers to it).
 */
public final class S3Blobs implements BlobBackend {
  private static final HexFormat HEX = HexFormat.of();
  /** How long the time of an upload or re-use is remembered (the collector's grace period is seconds). */
  static final Duration RECENT = Duration.ofMinutes(10);

  private final S3Client s3;
  private final Path cache;
  private final long cacheBytes;
  /** When this process last uploaded or re-used a blob (pruned past {@link #RECENT}); dropped on delete. */
  private final ConcurrentHashMap<String, Instant> recent = new ConcurrentHashMap<>();
  /** Cached copies by hash, least recently used first, with their sizes (guarded by itself). */
  private final LinkedHashMap<String, Long> cached = new LinkedHashMap<>(64, 0.75f, true);
  private long cachedBytes;

  /** Whether other nodes write and collect in this bucket too (see above). */
  private final boolean shared;

  /** {@code cache} is a local folder for copies of blobs read as files, at most {@code cacheBytes} in all. */
  public S3Blobs(S3Client s3, Path cache, long cacheBytes) {
    this(s3, cache, cacheBytes, false);
  }

  /** As above; {@code shared}: other nodes use this bucket too (a store on PostgreSQL). */
  public S3Blobs(S3Client s3, Path cache, long cacheBytes, boolean shared) {
    this.shared = shared;
    this.s3 = s3;
    this.cache = cache;
    this.cacheBytes = cacheBytes;
    try {
      if (Files.isDirectory(cache)) {
        try (Stream<Path> old = Files.walk(cache)) {
          old.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(cache)).forEach(p -> p.toFile().delete());
        }
      }
      Files.createDirectories(cache);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the blob cache " + cache, e);
    }
  }

  public S3Client client() {
    return s3;
  }

  private void remember(String hash) {
    Instant now = Instant.now();
    recent.put(hash, now);
    if (recent.size() > 10_000) {
      Instant old = now.minus(RECENT);
      recent.values().removeIf(t -> t.isBefore(old));
    }
  }

  @Override
  public boolean reuse(String hash, long size) throws IOException {
    if (shared) {
      return false; // upload again: another node may be deleting the object, and the upload renews its time
    }
    if (!recent.containsKey(hash)) {
      S3Client.Head h = s3.head(hash);
      if (h == null || h.size() != size) {
        return false;
      }
    }
    remember(hash);
    return true;
  }

  /** The staged file stays where it is: {@link #settle} uploads it, with the blob claimed. */
  @Override
  public void place(Path staged, String hash) {}

  @Override
  public void settle(Path staged, String hash, long size, boolean reused) throws IOException {
    if (!reused) {
      s3.put(hash, staged, HEX.parseHex(hash), md5(staged), size);
      remember(hash);
    }
  }

  @Override
  public void write(String hash, byte[] bytes) throws IOException {
    s3.put(hash, bytes, HEX.parseHex(hash), digest("MD5").digest(bytes));
    remember(hash);
  }

  /** An object is never torn (a PUT stores all of a checked body or nothing): one of the right size is the blob. */
  @Override
  public void repair(String hash, byte[] bytes) throws IOException {
    S3Client.Head h = s3.head(hash);
    if (h == null || h.size() != bytes.length) {
      write(hash, bytes);
    }
  }

  @Override
  public void force(String hash) {}

  @Override
  public boolean durableOnWrite() {
    return true;
  }

  @Override
  public InputStream open(String hash) throws IOException {
    Path copy = cachedCopy(hash);
    if (copy != null) {
      try {
        return Files.newInputStream(copy);
      } catch (java.nio.file.NoSuchFileException e) {
        // evicted meanwhile
      }
    }
    return s3.get(hash);
  }

  private Path cachedCopy(String hash) {
    synchronized (cached) {
      return cached.get(hash) == null ? null : cache.resolve(hash);
    }
  }

  /** A checked local copy, downloaded when not cached; the least recently used copies go past the cache's size. */
  @Override
  public Path file(String hash) throws IOException {
    Path copy = cachedCopy(hash);
    if (copy != null && Files.exists(copy)) {
      return copy;
    }
    Path part = cache.resolve(UUID.randomUUID() + ".part");
    long size;
    try {
      MessageDigest sha = BlobStore.sha256();
      try (InputStream in = new DigestInputStream(s3.get(hash), sha);
          OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE_NEW)) {
        size = in.transferTo(out);
      }
      if (!HEX.formatHex(sha.digest()).equals(hash)) {
        throw new IOException("blob " + hash + " read from S3 does not match its hash");
      }
      Files.move(part, cache.resolve(hash), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(part);
    }
    synchronized (cached) {
      Long old = cached.put(hash, size);
      cachedBytes += size - (old == null ? 0 : old);
      Iterator<Map.Entry<String, Long>> it = cached.entrySet().iterator();
      while (cachedBytes > cacheBytes && it.hasNext()) {
        Map.Entry<String, Long> e = it.next();
        if (e.getKey().equals(hash)) {
          continue; // the copy being handed out stays
        }
        cachedBytes -= e.getValue();
        it.remove();
        Files.deleteIfExists(cache.resolve(e.getKey())); // a reader that has it open keeps reading it
      }
    }
    return cache.resolve(hash);
  }

  @Override
  public boolean exists(String hash) throws IOException {
    return !shared && recent.containsKey(hash) || s3.head(hash) != null;
  }

  @Override
  public Instant written(String hash) throws IOException {
    Instant t = recent.get(hash);
    if (t != null) {
      return t;
    }
    S3Client.Head h = s3.head(hash);
    return h == null ? null : h.lastModified() == null ? Instant.EPOCH : h.lastModified();
  }

  @Override
  public void delete(String hash) throws IOException {
    s3.delete(hash);
    recent.remove(hash);
    synchronized (cached) {
      Long size = cached.remove(hash);
      if (size != null) {
        cachedBytes -= size;
        Files.deleteIfExists(cache.resolve(hash));
      }
    }
  }

  /** Every key of the bucket named like a blob (64 lower-case hex digits); other keys are not this store's. */
  @Override
  public int sweep(Visitor v) throws IOException {
    int removed = 0;
    String token = null;
    do {
      S3Client.Listing page = s3.list("", token);
      for (S3Client.Entry e : page.entries()) {
        if (isHash(e.key()) && v.remove(e.key(), e.lastModified() == null ? Instant.EPOCH : e.lastModified())) {
          delete(e.key());
          removed++;
        }
      }
      token = page.next();
    } while (token != null);
    return removed;
  }

  private static boolean isHash(String key) {
    return key.length() == 64 && key.chars().allMatch(ch -> (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
  }

  private static byte[] md5(Path file) throws IOException {
    MessageDigest md5 = digest("MD5");
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), md5)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    return md5.digest();
  }

  private static MessageDigest digest(String alg) {
    try {
      return MessageDigest.getInstance(alg);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String describe() {
    S3Client.Settings st = s3.settings();
    return "S3 bucket " + st.bucket() + " at " + st.endpoint();
  }

  @Override
  public void close() {
    s3.close();
  }
}
