package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Immutable message bodies, content-addressed by SHA-256: {@code blobs/ab/abcdef...} with the files backend
 * ({@link FileBlobs}), objects keyed {@code abcdef...} in a bucket with S3 ({@link S3Blobs}). This class holds what
 * does not depend on where the content is (the writer staging in {@code blobs/tmp/}, the locks, claims, holds,
 * collection and sweep); the backend keeps the content ({@link BlobBackend}). What follows says "file" and "rename"
 * for the files backend; with S3 the commit is a checked upload, durable once answered.
 *
 * <p>A body is streamed into {@code blobs/tmp/}, then {@link BlobWriter#commit()} renames it to its hash and forces
 * it, so that after {@code commit} returns the blob survives a crash (ARCHITECTURE.md, "Durability rules"; one sync covers content and
 * name, see {@code commit}).
 * A row referencing the blob is committed only after that, under a {@link #claim} of the blob. Blobs whose last
 * reference went are deleted by {@link BlobCollector} through {@link #collect}; at start-up {@link #sweep} removes
 * every blob no row refers to (what a crash left between a blob's commit and its row).
 *
 * <p>Collection is safe against a new delivery of the same content, which re-uses the blob's name: a blob is
 * deleted only under its hash's lock, when no claim is held on it, and when no row refers to it. A writer that
 * commits a row referencing a blob claims it first (under the same lock) and then checks that the file is there,
 * and holds the claim until the row is committed or abandoned: either the collector ran first and the writer sees
 * the file gone (and fails, or writes it again), or the claim came first and the collector leaves the blob alone,
 * or the row was committed first and the collector sees it. So that a delivery whose content is already stored is
 * not failed by a collection between its {@link BlobWriter#commit()} and its claim, the writers that re-use an
 * existing file touch its modification time under the lock, and the collector leaves a blob modified within its
 * grace period for later; {@code commit} also holds a claim from its rename (or re-use) until its fsync.
 *
 * <p>Several nodes sharing one bucket (PostgreSQL, {@link #shareClaims}): the locks and claims above are one
 * process's, and another node's collector could read an object as old and unreferenced, then delete it just after
 * this node re-uploaded the same content and claimed it, before its row committed. So a claim is also a shared
 * {@link ClusterLocks#BLOB} lock in PostgreSQL, taken before the claim checks the object is there and held until the
 * claim is closed, and the collector deletes only holding that lock exclusively (tried, not waited for: BUSY when
 * some node's claim holds it). Either the collector's lock came first, and the writer's claim, waiting for it, then
 * finds the object gone ({@link Missing}: written again and retried), or the claim came first and the collector
 * leaves the blob for a later pass, by which time the row is committed and seen. The locks are session locks of one
 * connection of the node's own: a node that dies frees its claims with its connection. So does a connection that
 * breaks while the node lives on, and its row's transaction (another connection) may be fine: that transaction runs
 * {@link #fence} before it commits, which takes the same lock for the transaction and checks that the claim's
 * session held it until then, or rolls the row back ({@link Missing}).
 */
public final class BlobStore {
  /** The layout this release writes ({@code blobs/ab/<sha-256>}), recorded in the manifest ({@link DataFormat}). */
  public static final int LAYOUT = 1;
  private static final Logger log = LoggerFactory.getLogger(BlobStore.class);
  private static final HexFormat HEX = HexFormat.of();
  /** Cloned for each blob: MessageDigest.getInstance checks providers and algorithm constraints every time. */
  private static final MessageDigest SHA256;

  static {
    try {
      SHA256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static MessageDigest sha256() {
    try {
      return (MessageDigest) SHA256.clone();
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException(e);
    }
  }
  private final Path root;
  private final Path tmp;
  private final BlobBackend backend;
  private final Capacity capacity;
  /** Locks by hash (striped): a claim, a re-use of an existing file and a collection of the same hash exclude each other. */
  private final ReentrantLock[] locks = new ReentrantLock[64];
  /** Claims held, by hash (changed only under the hash's lock). */
  private final ConcurrentHashMap<String, Integer> claims = new ConcurrentHashMap<>();
  /** Backups under way ({@link #holdCollection}): while above 0, {@link #collect} deletes nothing. */
  private final java.util.concurrent.atomic.AtomicInteger collectionHolds =
      new java.util.concurrent.atomic.AtomicInteger();
  /** The claims every node sees ({@link #shareClaims}); none to share with one node. */
  private volatile ClusterLocks cluster = ClusterLocks.LOCAL;
  /** How long a claim waits for another node's collection of the same blob (a few requests to S3) at most. */
  static final Duration CLAIM_WAIT = Duration.ofSeconds(30);

  /** A blob store that refuses new mail only when its file system is full. */
  public BlobStore(Path root) {
    this(root, 0);
  }

  /** A blob store whose file system keeps {@code reserveBytes} free for what was accepted ({@link Capacity}). */
  public BlobStore(Path root, long reserveBytes) {
    this(root, reserveBytes, null);
  }

  /**
   * A blob store whose content lives in {@code backend} (null: {@link FileBlobs} under {@code root}); {@code root}
   * holds the blobs being written ({@code tmp/}) whatever the backend, and its file system keeps
   * {@code reserveBytes} free.
   */
  public BlobStore(Path root, long reserveBytes, BlobBackend backend) {
    this.root = root;
    this.tmp = root.resolve("tmp");
    for (int i = 0; i < locks.length; i++) {
      locks[i] = new ReentrantLock();
    }
    try {
      Files.createDirectories(tmp);
      this.backend = backend == null ? new FileBlobs(root) : backend;
      force(root);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create blob store " + root, e);
    }
    this.capacity = new Capacity(root, reserveBytes);
  }

  /** Where the content lives. */
  public BlobBackend backend() {
    return backend;
  }

  /**
   * Makes claims and collections hold {@code locks} too (several nodes on one bucket, see above); this store closes
   * them with itself.
   */
  public void shareClaims(ClusterLocks locks) {
    this.cluster = locks;
  }

  /** Closes the backend (S3: its HTTP client); after the intake journal is applied. */
  public void close() {
    backend.close();
    cluster.close();
  }

  /** The blob's lock id among {@link ClusterLocks#BLOB}: the first 32 bits of its hash (a collision only delays). */
  private static long clusterId(String hash) {
    return (int) Long.parseLong(hash.substring(0, 8), 16);
  }

  /** Takes the blob's shared cluster lock, waiting while another node's collector holds it (briefly). */
  private void claimAcrossNodes(String hash) {
    long deadline = System.nanoTime() + CLAIM_WAIT.toNanos();
    while (!cluster.tryLockShared(ClusterLocks.BLOB, clusterId(hash))) {
      if (System.nanoTime() > deadline) {
        throw new StoreException("blob " + hash + " is being collected by another node for over " + CLAIM_WAIT);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException("interrupted while claiming blob " + hash, e);
      }
    }
  }

  /** Whether new mail can be taken: free space over the reserve, and the intake storing. */
  public Capacity capacity() {
    return capacity;
  }

  /** Content up to this size is buffered in memory; a file is created only when more comes. */
  public static final int SMALL = 64 * 1024;

  /** A whole blob held in memory, with its SHA-256 in hex. */
  public record Small(String hash, byte[] bytes) {
    public BlobRef ref() {
      return new BlobRef(hash, bytes.length);
    }
  }

  /** Stores a blob held in memory; durable when it returns (as {@link BlobWriter#commit()}). */
  public BlobRef store(Small small) throws IOException {
    BlobWriter w = create();
    w.write(small.bytes(), 0, small.bytes().length);
    BlobRef ref = w.commit();
    if (!ref.hash().equals(small.hash())) {
      throw new IOException("content does not match its hash " + small.hash());
    }
    return ref;
  }

  /**
   * Writes a blob held in memory straight under its hash, not forced and without a temporary file: for
   * {@link Intake}, whose journal keeps the content until the blob is forced ({@link #force(String)}) and whose
   * start-up {@link #repair}s every blob it has not forced, so a file torn here by a crash is rewritten before
   * anything reads it. A file already there with the blob's size is kept (as in {@link BlobWriter#commit()}).
   * The content is written over an existing file, never truncated first: a reader of the same content sees it
   * whole throughout.
   */
  public BlobRef storeUnforced(Small small) throws IOException {
    checked(small.hash());
    byte[] bytes = small.bytes();
    ReentrantLock lock = lock(small.hash());
    lock.lock();
    try {
      if (!backend.reuse(small.hash(), bytes.length)) {
        backend.write(small.hash(), bytes);
      }
    } finally {
      lock.unlock();
    }
    return small.ref();
  }

  /**
   * Makes sure the file under the blob's hash holds exactly its content (read and hashed), replacing it when not:
   * after a crash, a blob written but not yet forced may be missing, short or wrong. Not forced.
   */
  public BlobRef repair(Small small) throws IOException {
    backend.repair(checked(small.hash()), small.bytes());
    return small.ref();
  }

  /** The local folder of the blob store (the blobs themselves with the files backend; tmp/ always). */
  public Path root() {
    return root;
  }

  /** Forces a stored blob to disk; a blob that is gone (collected after its last reference went) needs nothing. */
  public void force(String hash) throws IOException {
    backend.force(checked(hash));
  }

  /** Whether {@link #storeUnforced} is durable when it returns (S3), so that nothing needs forcing after it. */
  public boolean durableOnWrite() {
    return backend.durableOnWrite();
  }

  // ---- claims and collection -----------------------------------------------------------------------------------

  ReentrantLock lock(String hash) {
    return locks[Math.floorMod(hash.hashCode(), locks.length)];
  }

  /**
   * Claims blobs for rows about to refer to them: the collector leaves them alone until the claim is closed (after
   * the rows are committed, or abandoned). Throws when one of them is missing: a row must never refer to a blob
   * that is not there.
   */
  public Claim claim(Collection<String> hashes) {
    List<String> held = new ArrayList<>();
    List<Long> sessions = new ArrayList<>();
    try {
      for (String h : new LinkedHashSet<>(hashes)) {
        ReentrantLock lock = lock(h);
        lock.lock();
        try {
          claims.merge(h, 1, Integer::sum);
        } finally {
          lock.unlock();
        }
        try {
          claimAcrossNodes(checked(h)); // before the check: no node's collector deletes it after the check
        } catch (RuntimeException e) {
          releaseLocal(h);
          throw e;
        }
        held.add(h);
        sessions.add(cluster.session()); // read after the lock: the session that holds it (see fence)
        if (!exists(h)) {
          throw new Missing(h);
        }
      }
    } catch (RuntimeException e) {
      release(held);
      throw e;
    }
    Claim claim = new Claim(held, sessions);
    openClaims.add(claim);
    claimHook.run();
    return claim;
  }

  /** What a repository runs in a transaction committing rows that refer to blobs: {@link #fence}. */
  @FunctionalInterface
  public interface Fence {
    Fence NONE = (tx, hashes) -> {};

    void check(java.sql.Connection tx, Collection<String> hashes) throws java.sql.SQLException;
  }

  /** Run by {@link #claim} once it holds its blobs (tests break the locks' connection there). */
  volatile Runnable claimHook = () -> {};

  /** Claims not closed yet, for {@link #fence}. */
  private final Set<Claim> openClaims = ConcurrentHashMap.newKeySet();

  /**
   * Run in the transaction of {@code tx} that commits rows referring to {@code hashes}, before it commits (several
   * nodes; nothing to do on one): makes sure that each blob's claim was held without a gap from its existence check
   * until the commit, or throws {@link Missing} so that the transaction rolls back. The claim's shared lock lives on
   * the locks' connection, which PostgreSQL frees when that connection breaks (a restart, a network cut), and
   * another node's collector may then delete the blob before this node notices; so the transaction takes the same
   * lock for itself ({@link ClusterLocks#heldThrough}: released by the commit, and gone with the transaction if its
   * connection dies) and then sees that the claim's session still holds it. Held by the session from the check
   * until then, by the transaction from then until the commit: no collector can have deleted the blob in between.
   * A hash without an open claim is not checked (rows copied by tools that run alone).
   */
  public void fence(java.sql.Connection tx, Collection<String> hashes) throws java.sql.SQLException {
    ClusterLocks c = cluster;
    if (c == ClusterLocks.LOCAL) {
      return;
    }
    for (String h : new LinkedHashSet<>(hashes)) {
      Set<Long> sessions = new java.util.HashSet<>();
      for (Claim claim : openClaims) {
        int i = claim.hashes.indexOf(h);
        if (i >= 0) {
          sessions.add(claim.sessions.get(i));
        }
      }
      for (long session : sessions) {
        if (!c.heldThrough(tx, ClusterLocks.BLOB, clusterId(h), session)) {
          throw new Missing(h, "its claim was lost with the locks' connection to PostgreSQL, and another node may"
              + " have collected it meanwhile");
        }
      }
    }
  }

  /**
   * A blob was not there when claimed: the collector took it after its last reference went, before this writer's
   * claim (a writer that wrote or re-used it since then writes it again and retries).
   */
  public static final class Missing extends StoreException {
    Missing(String hash) {
      super("the body of a message (blob " + hash + ") is missing from the blob store");
    }

    /** The blob may be missing: {@link #fence} cannot tell that it stayed claimed ({@code why}). */
    Missing(String hash, String why) {
      super("the body of a message (blob " + hash + ") may be missing from the blob store: " + why);
    }
  }

  /** Releases claims taken by {@link #claim}: the cluster's lock, then this process's claim. */
  private void release(List<String> hashes) {
    for (String h : hashes) {
      try {
        cluster.unlockShared(ClusterLocks.BLOB, clusterId(h));
      } finally {
        releaseLocal(h);
      }
    }
  }

  private void releaseLocal(String h) {
    ReentrantLock lock = lock(h);
    lock.lock();
    try {
      claims.computeIfPresent(h, (k, n) -> n == 1 ? null : n - 1);
    } finally {
      lock.unlock();
    }
  }

  /** Blobs claimed by {@link #claim}, released by {@link #close}. */
  public final class Claim implements AutoCloseable {
    private final List<String> hashes;
    /** The locks' session each blob's cluster lock was taken on ({@link ClusterLocks#session}), by index. */
    private final List<Long> sessions;
    private boolean closed;

    private Claim(List<String> hashes, List<Long> sessions) {
      this.hashes = hashes;
      this.sessions = sessions;
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        openClaims.remove(this);
        release(hashes);
      }
    }
  }

  /**
   * Stops {@link #collect} from deleting anything until the returned hold is closed: a {@link Backup} copies the
   * database at one instant and the blobs after it, so every blob a row of that copy refers to must still be there
   * when the blobs are linked or copied, even if its last reference has gone since.
   */
  public Hold holdCollection() {
    collectionHolds.incrementAndGet();
    java.util.concurrent.atomic.AtomicBoolean open = new java.util.concurrent.atomic.AtomicBoolean(true);
    return () -> {
      if (open.getAndSet(false)) {
        collectionHolds.decrementAndGet();
      }
    };
  }

  /** A hold on collection ({@link #holdCollection}); closing it twice releases it once. */
  public interface Hold extends AutoCloseable {
    @Override
    void close();
  }

  /** What {@link #collect} did. */
  public enum Collected { DELETED, REFERENCED, BUSY }

  /**
   * Deletes a blob that may have lost its last reference, under its hash's lock: not when it is claimed or its file
   * was written or re-used less than {@code grace} ago (BUSY: try again later), nor when {@code referenced} says a
   * committed row refers to it (REFERENCED). A blob already gone counts as DELETED. With several nodes, also BUSY
   * when another node holds a claim on it (its shared cluster lock), which this holds exclusively meanwhile.
   */
  public Collected collect(String hash, Predicate<String> referenced, Duration grace) throws IOException {
    return collect(hash, referenced, Instant.now().minus(grace));
  }

  /** {@link #collect(String, Predicate, Duration)} for a blob last written at or before {@code cutoff} only. */
  Collected collect(String hash, Predicate<String> referenced, Instant cutoff) throws IOException {
    checked(hash);
    ReentrantLock lock = lock(hash);
    lock.lock();
    try {
      if (claims.containsKey(hash) || collectionHolds.get() > 0) {
        return Collected.BUSY;
      }
      ClusterLocks c = cluster;
      if (!c.tryLock(ClusterLocks.BLOB, clusterId(hash))) {
        return Collected.BUSY; // another node claims it, or collects it
      }
      try {
        return collectLocked(hash, referenced, cutoff);
      } finally {
        c.unlock(ClusterLocks.BLOB, clusterId(hash));
      }
    } finally {
      lock.unlock();
    }
  }

  /** {@link #collect}'s decision, under the hash's locks. */
  private Collected collectLocked(String hash, Predicate<String> referenced, Instant cutoff) throws IOException {
    Instant written = backend.written(hash);
    if (written == null) {
      return Collected.DELETED;
    }
    if (written.isAfter(cutoff)) {
      return Collected.BUSY;
    }
    if (referenced.test(hash)) {
      return Collected.REFERENCED;
    }
    collectionHook.run();
    backend.delete(hash);
    return Collected.DELETED;
  }

  /** Run by {@link #collect} just before it deletes (tests interleave another node's writer there). */
  volatile Runnable collectionHook = () -> {};

  /** Starts a new blob; the caller writes to it and then commits or aborts it. */
  public BlobWriter create() {
    return new BlobWriter();
  }

  /** The hash, when it is one (64 lower-case hex digits): nothing else ever names a blob in a backend. */
  static String checked(String hash) {
    if (!isHash(hash)) {
      throw new IllegalArgumentException("not a blob hash: " + hash);
    }
    return hash;
  }

  private static boolean isHash(String name) {
    return name.length() == 64 && name.chars().allMatch(ch -> (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
  }

  /**
   * A local file with the blob's content, for readers that want a file (IMAP's large FETCH, POP3's RETR): the blob
   * itself with the files backend, a cached copy with S3 ({@link S3Blobs}).
   */
  public Path path(String hash) {
    try {
      return backend.file(checked(hash));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The content, streamed. */
  public InputStream open(String hash) throws IOException {
    return backend.open(checked(hash));
  }

  public boolean exists(String hash) {
    try {
      return backend.exists(checked(hash));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot tell whether blob " + hash + " is stored: " + e.getMessage(), e);
    }
  }

  /**
   * Removes blobs for which {@code referenced} is false and temporary files, both only when older than
   * {@code minAge} (a blob being delivered right now is committed before its row). Returns how many were removed.
   */
  public int sweep(Predicate<String> referenced, Duration minAge) {
    return sweep(referenced, Instant.now().minus(minAge));
  }

  /**
   * Removes temporary files last written at or before {@code cutoff}, and blobs last written (or re-used) at or
   * before it that no row refers to. Each blob is deleted through {@link #collect}, under its hash's lock and only
   * when unclaimed: the sweep may run while new mail is delivered (the server sweeps after its listeners open, with
   * the process's start as the cutoff), and a delivery of the same content re-uses the orphan's name, touching it
   * (then newer than the cutoff) and claiming it before its row commits, so the blob is either deleted before the
   * re-use (which then writes it again) or kept. Returns how many were removed.
   */
  public int sweep(Predicate<String> referenced, Instant cutoff) {
    return sweep(referenced, null, cutoff);
  }

  /**
   * {@link #sweep(Predicate, Instant)}, reading what rows refer to a range at a time: {@code referencedWithPrefix}
   * gives the hashes in use that start with two given hex digits (one index range on each table), and a blob found
   * there is kept without a query of its own. The backends list blobs a prefix at a time (FileBlobs a folder, S3 in
   * key order), so each range is read about once: on a store of 100,000 messages the start's sweep took 5 s of CPU
   * beside the first mail, one query per blob. A blob not in its range's set is still checked by {@code referenced}
   * and collected under its lock ({@link #collect}), as before: the set only spares the queries for blobs in use.
   */
  public int sweep(Predicate<String> referenced, Function<String, Set<String>>
      referencedWithPrefix, Instant cutoff) {
    int removed = 0;
    InUse inUse = new InUse(referencedWithPrefix);
    long began = System.nanoTime();
    int[] seen = {0};
    try (Stream<Path> files = Files.list(tmp)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(p) && !Files.getLastModifiedTime(p).toInstant().isAfter(cutoff)) {
          Files.deleteIfExists(p);
          removed++;
        }
      }
      // Deleted as the collector deletes (another writer may be re-using or claiming the same content right now,
      // in this process or on another node); counted here, so the backend is told to remove nothing.
      int[] collected = {0};
      backend.sweep((name, written) -> {
        if (sweepsStopped) {
          throw new UncheckedIOException(new IOException("the server is stopping"));
        }
        seen[0]++;
        try {
          if (!written.isAfter(cutoff) && isHash(name) && !inUse.contains(name) && !referenced.test(name)) {
            sweepHook.accept(name);
            if (collect(name, referenced, cutoff) == Collected.DELETED) {
              collected[0]++;
            }
          }
        } catch (IOException e) {
          log.warn("blob sweep: cannot collect {}: {}", name, e.getMessage());
        }
        return false;
      });
      removed += collected[0];
    } catch (IOException | UncheckedIOException e) {
      log.warn("blob sweep stopped: {}", e.getMessage());
    }
    log.info("blob sweep: {} blobs checked in {} ms, {} unreferenced file(s) removed", seen[0],
        (System.nanoTime() - began) / 1_000_000, removed);
    return removed;
  }

  /** The sweep's view of the hashes in use, one prefix's range at a time (none without a reader of ranges). */
  private static final class InUse {
    private final Function<String, Set<String>> read;
    private String prefix;
    private Set<String> hashes = Set.of();

    InUse(Function<String, Set<String>> read) {
      this.read = read;
    }

    boolean contains(String hash) {
      if (read == null) {
        return false;
      }
      if (prefix == null || !hash.startsWith(prefix)) {
        prefix = hash.substring(0, BlobPrefix.LENGTH);
        hashes = read.apply(prefix);
      }
      return hashes.contains(hash);
    }
  }

  private volatile boolean sweepsStopped;

  /** Makes a {@link #sweep} under way stop at its next blob, and later ones stop at once (the server stops). */
  public void stopSweeps() {
    sweepsStopped = true;
  }

  /** Run by {@link #sweep} between its "unreferenced?" check of a blob and its collection (tests deliver there). */
  volatile java.util.function.Consumer<String> sweepHook = name -> {};

  /** Forces a file or a folder to disk (fsync of a descriptor opened for reading). */
  static void force(Path path) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** A blob being written: hashes as it goes; {@link #commit()} makes it durable under its hash. */
  public final class BlobWriter extends OutputStream {
    private Path file; // named and opened when the buffer first spills: a small message never has a file
    private FileChannel channel;
    private final MessageDigest digest;
    private final ByteBuffer buf = ByteBuffer.allocate(SMALL);
    private long size;
    private boolean done;

    private BlobWriter() {
      this.digest = sha256();
    }

    @Override
    public void write(int b) throws IOException {
      if (!buf.hasRemaining()) {
        drain();
      }
      buf.put((byte) b);
      size++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        if (!buf.hasRemaining()) {
          drain();
        }
        int n = Math.min(len, buf.remaining());
        buf.put(b, off, n);
        off += n;
        len -= n;
        size += n;
      }
    }

    /** Writes the readable bytes of {@code src} without consuming it. */
    public void write(ByteBuffer src) throws IOException {
      ByteBuffer s = src.duplicate();
      while (s.hasRemaining()) {
        if (!buf.hasRemaining()) {
          drain();
        }
        int n = Math.min(s.remaining(), buf.remaining());
        ByteBuffer part = s.slice(s.position(), n);
        buf.put(part);
        s.position(s.position() + n);
        size += n;
      }
    }

    private void drain() throws IOException {
      if (channel == null) {
        file = tmp.resolve(UUID.randomUUID() + ".tmp");
        channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      }
      buf.flip();
      digest.update(buf.duplicate());
      while (buf.hasRemaining()) {
        channel.write(buf);
      }
      buf.clear();
    }

    public long size() {
      return size;
    }

    /**
     * When the whole content is still in memory (at most {@link #SMALL} bytes, never written to a file), finishes
     * this writer and returns the content and its hash, for the caller to make durable another way
     * ({@link Intake}); otherwise returns null and the writer is unchanged.
     */
    public Small small() {
      if (done || channel != null) {
        return null;
      }
      done = true;
      buf.flip();
      byte[] bytes = new byte[buf.remaining()];
      buf.get(bytes);
      digest.update(bytes);
      return new Small(HEX.formatHex(digest.digest()), bytes);
    }

    /**
     * Writes what is buffered to the temporary file, not forced, and returns that file so that the content can be
     * read (checked, copied) before it is committed or aborted.
     */
    public Path stage() throws IOException {
      if (done) {
        throw new IllegalStateException("blob already finished");
      }
      drain();
      return file;
    }

    /**
     * Renames the file to its hash, then forces the file under that name; returns the durable reference.
     *
     * <p>One sync, not two: the rename changes the renamed file's inode (its ctime), so the journal transaction
     * that carries the new name is one the file's own fsync must commit (ext4 commits the inode's last
     * transaction, XFS forces its log to the inode's last change, btrfs logs the new name of a renamed inode).
     * The file is forced by its name, after the rename, not through this writer's descriptor: a writer of the
     * same content may have renamed its own copy over it meanwhile, and what must be durable is the file the
     * name points to. Every writer has written all its bytes before renaming, so whichever copy the name
     * points to is whole; when the name already exists, forcing it also covers a writer still between its
     * rename and its force. An existing file is kept only when its size is the message's: after a power loss a
     * name whose fsync never ran can be there with less data (ext4 commits a rename before delayed allocation
     * writes the blocks), and it must not be taken for the stored copy.
     */
    public BlobRef commit() throws IOException {
      if (done) {
        throw new IllegalStateException("blob already finished");
      }
      done = true;
      try {
        drain();
        channel.close();
        channel = null;
        String hash = HEX.formatHex(digest.digest());
        ReentrantLock lock = lock(hash);
        boolean reused;
        lock.lock();
        try {
          reused = backend.reuse(hash, size);
          if (reused) {
            Files.delete(file);
          } else {
            // Absent, or torn: a name renamed but never forced (power lost before the fsync) can come back empty or
            // short, and no row refers to it; this whole copy replaces it.
            backend.place(file, hash);
          }
          claims.merge(hash, 1, Integer::sum); // until settled: the collector leaves the name alone meanwhile
        } finally {
          lock.unlock();
        }
        try {
          backend.settle(file, hash, size, reused); // files: the fsync; S3: the upload
        } finally {
          releaseLocal(hash); // its claim is this process's only: no cluster lock to release (another claim's)
          if (!reused) {
            Files.deleteIfExists(file); // S3: the staged copy, uploaded or not (files: renamed already)
          }
        }
        return new BlobRef(hash, size);
      } catch (IOException | RuntimeException e) {
        discard();
        throw e;
      }
    }

    /** Throws the partial blob away. */
    public void abort() {
      if (!done) {
        done = true;
        discard();
      }
    }

    private void discard() {
      try {
        if (channel != null) {
          channel.close();
        }
        if (file != null) {
          Files.deleteIfExists(file);
        }
      } catch (NoSuchFileException e) {
        // already gone
      } catch (IOException e) {
        log.warn("cannot remove temporary blob {}: {}", file, e.getMessage());
      }
    }

    @Override
    public void close() {
      abort();
    }
  }
}
