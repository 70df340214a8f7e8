package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The intake journal: a small message (at most {@link BlobStore#SMALL} bytes) delivered to local mailboxes is
 * durable after one device write, and its blob and rows are made in the background (README, "Durability").
 *
 * <p>Why: the blob store's path costs two device syncs per message (the blob's fsync, Derby's log force) before
 * the {@code 250}; on one connection at a time that wait is most of a message's time. Here the message and where
 * it goes are appended to a segment file that was filled with zeros and forced when it was made, through an
 * {@code O_DSYNC} descriptor: overwriting written blocks changes no metadata, so the write is one data write and
 * one cache flush, and messages arriving together share it (group commit). An applier thread then writes the
 * blobs, not forced (the journal still holds their content), and inserts the rows in one transaction that also
 * records the last applied sequence number in {@code intake}; it lets a message wait up to {@link #LINGER_NANOS}
 * for others to share that transaction, unless a reader is waiting. When every record of a segment is applied,
 * the blobs written so far are forced ({@link #forceAll}) and the segment is reused as a spare under a new number
 * (renamed, the folder forced) or deleted: only the first segments of a run are written full of zeros, and the
 * journal keeps writing into blocks it already has.
 *
 * <p>A segment is named {@code <number>-<salt>.seg}, the salt a random number drawn each time the file is (re)used.
 * Record: magic, payload length, sequence number, CRC-32C of the salt, the sequence number and the payload, then
 * the payload (internal date, the (account, mailbox) pairs, the SHA-256, the message). Records follow each other
 * from the start of a segment; the first one that does not check (zeros, a torn write, a record of the segment's
 * previous life, or one that a message's own bytes imitate: the salt is in no message) ends the segment. At
 * start-up, before anything listens, the blob of every record still in a segment is checked and rewritten when not
 * whole, every record above the applied number is applied, in order, and the blobs are forced before the segments
 * go: a message is stored exactly once whatever instant the process or the machine stopped.
 *
 * <p>Readers see what was acknowledged: {@link #awaitApplied()} (called by {@link MailStore}'s reads and at each
 * IMAP command) waits until everything journaled before the call is in the mailboxes; the applier stops waiting
 * for company when a reader comes.
 */
public final class Intake implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Intake.class);
  private static final int MAGIC = 0x444d4932; // "DMI2"
  /** The segment format this release writes (DMI2), recorded in the data format manifest ({@link DataFormat}). */
  public static final int FORMAT = 2;
  /**
   * Records of an older release, in segments named {@code <number>.seg}, never reused: their CRC covers the sequence
   * number and payload. Read so that what a crashed older release left journaled is stored after an upgrade.
   */
  private static final int MAGIC_V1 = 0x444d4931; // "DMI1"
  private static final int HEADER = 20; // magic, length, seq, crc
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();
  /** A segment's name: its number, its salt (absent in an older release's), and ".seg" (or ".new" while made). */
  private static final java.util.regex.Pattern NAME =
      java.util.regex.Pattern.compile("([0-9a-f]{16})(?:-([0-9a-f]{16}))?\\.(seg|new)");
  private static final int MAX_TARGETS = 100_000;
  /**
   * Bytes journaled but not yet applied before new messages wait: accepting stays at the applier's pace, and a
   * read waits at most for this much (about 200 messages of 10 KB).
   */
  private static final long MAX_PENDING_BYTES = 2L << 20;
  private static final int MAX_APPLY_BATCH = 64;
  /**
   * Spare segments kept ready: two, so that the writer has one while the segment it just left waits for its last
   * records to be stored and its blobs forced before it is reused.
   */
  private static final int SPARES = 2;
  /**
   * How long the applier lets a message wait for others before storing it, unless a full batch waits, a reader
   * asks, or half of {@link #MAX_PENDING_BYTES} waits: one Derby transaction (statements, commit, log flush) for
   * 20-30 messages instead of one each when they arrive one at a time. Measured at concurrency 1 (10 KB, Darwin
   * alone): the applier's CPU 0.65-1.2 -> 0.25-0.35 ms per message, and fewer Derby log flushes competing with
   * the journal's writes for the disk.
   */
  private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /** Where one copy goes: the account (to fall back to its INBOX) and the mailbox. */
  public record Target(long accountId, long mailboxId) {}

  /** A journaled message. */
  record Entry(long seq, List<Target> targets, Instant date, BlobStore.Small body) {
    int recordSize() {
      return HEADER + 8 + 4 + 16 * targets.size() + 32 + body.bytes().length;
    }
  }

  /** A message waiting for the journal write; {@code seq} is set by the writer. */
  private static final class Pending {
    final List<Target> targets;
    final Instant date;
    final BlobStore.Small body;
    boolean done;
    IOException error;

    Pending(List<Target> targets, Instant date, BlobStore.Small body) {
      this.targets = targets;
      this.date = date;
      this.body = body;
    }
  }

  /** A segment file being written or waiting for its records to be applied. */
  private static final class Segment {
    final long number;
    /** Covered by the CRC of each record: a record of the file's previous life does not check. */
    final long salt;
    final Path path;
    FileChannel channel;
    long position;
    long lastSeq;

    Segment(long number, long salt, Path path) {
      this.number = number;
      this.salt = salt;
      this.path = path;
    }
  }

  private final Path dir;
  private final MailStore store;
  private final long segmentSize;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition written = lock.newCondition();
  private final Condition work = lock.newCondition();
  private final Condition applied = lock.newCondition();
  private final Condition room = lock.newCondition();
  private final ArrayDeque<Pending> unwritten = new ArrayDeque<>();
  private final ArrayDeque<Entry> unapplied = new ArrayDeque<>();
  private final ArrayDeque<Segment> retired = new ArrayDeque<>();
  /** Whether {@code sync -f} works here (see {@link #forceAll}). */
  private volatile boolean syncfs = true;
  /** Hashes of blobs stored by the applier and not forced yet (the applier's own). */
  private final List<String> unforced = new ArrayList<>();
  private boolean writing;
  private boolean closing;
  private long nextSeq;
  private volatile long writtenSeq;
  private volatile long appliedSeq;
  private long pendingBytes;
  /** When the oldest message in {@code unapplied} was journaled (System.nanoTime). */
  private long unappliedSince;
  /** The applier is waiting for more messages (a write then wakes it only when {@link #shouldApplyNow}). */
  private boolean lingering;
  /** Readers in {@link #awaitApplied}: the applier stops lingering for them. */
  private int readersWaiting;
  /** Whether {@link #appliedSeq} may be behind the database's (a batch failed part way, or a start deferred it). */
  private boolean appliedUnknown;
  /**
   * Messages of segments a start could not finish with (a full disk): their blobs are checked and rewritten before
   * those segments go, as at a start.
   */
  private final List<BlobStore.Small> toRepair = new ArrayList<>();
  private final Trouble applying = new Trouble("cannot store accepted messages (they stay journaled; new mail is"
      + " refused with 452 4.3.1 and reads show what is stored)", "storing accepted messages again");
  private final Trouble forcing = new Trouble("cannot force stored blobs (the journal keeps them)",
      "forcing stored blobs again");
  private final Trouble making = new Trouble("cannot make the next journal segment", "making journal segments again");
  private long nextSegment;
  /** Made by the first write: a start that takes no mail (a CLI command) writes no segment. */
  private Segment current;
  /** Segments ready for the writer after the current one: {@link #SPARES} of them, with those waiting to be reused. */
  private final ArrayDeque<Segment> spares = new ArrayDeque<>();
  private final Thread applier;

  private Intake(Path dir, MailStore store, long segmentSize) {
    this.dir = dir;
    this.store = store;
    this.segmentSize = segmentSize;
    this.applier = Thread.ofPlatform().name("intake-apply").daemon().unstarted(this::applyLoop);
  }

  /** The size of a journal segment. */
  static final long SEGMENT_SIZE = 4L << 20;

  /**
   * Opens the journal in {@code dir}: applies what a previous run journaled but did not apply, removes the old
   * segments, starts a new one and the applier. Called by the {@link MailStore} it feeds, whose reads wait for it.
   */
  static Intake open(Path dir, MailStore store, long segmentSize) {
    checkReadable(dir);
    Intake in = new Intake(dir, store, segmentSize);
    try {
      Files.createDirectories(dir);
      in.recover();
    } catch (IOException e) {
      // One line that names the cause (a full disk, a read-only file system, permissions).
      throw new UncheckedIOException("cannot open the intake journal " + dir + ": " + e, e);
    }
    in.applier.start();
    return in;
  }

  // ---- the 250 path ------------------------------------------------------------------------------------------

  /**
   * Journals a message for the given mailboxes; it is durable when this returns (it reaches the mailboxes
   * moments later, before any read that starts after this returns).
   */
  public void submit(List<Target> targets, Instant date, BlobStore.Small body) throws IOException {
    if (targets.isEmpty() || targets.size() > MAX_TARGETS) {
      throw new IllegalArgumentException("targets: " + targets.size());
    }
    Pending p = new Pending(List.copyOf(targets), date, body);
    lock.lock();
    try {
      // While the applier cannot store, nothing more is taken (it could wait for hours): the caller answers 4xx.
      while (pendingBytes > MAX_PENDING_BYTES && !closing && !capacity().stalled()) {
        room.awaitUninterruptibly();
      }
      if (closing) {
        throw new IOException("the intake journal is closed");
      }
      if (capacity().stalled()) {
        throw new IOException("accepted messages cannot be stored now (disk full?)");
      }
      pendingBytes += body.bytes().length;
      unwritten.add(p);
      while (!p.done) {
        if (writing) {
          written.awaitUninterruptibly();
          continue;
        }
        writing = true;
        List<Pending> batch = new ArrayList<>(unwritten);
        unwritten.clear();
        long first = nextSeq;
        lock.unlock();
        List<Entry> entries = new ArrayList<>(batch.size());
        IOException failure = null;
        try {
          for (int i = 0; i < batch.size(); i++) {
            Pending b = batch.get(i);
            entries.add(new Entry(first + i, b.targets, b.date, b.body));
          }
          write(entries);
        } catch (IOException | RuntimeException e) {
          failure = e instanceof IOException io ? io : new IOException(e);
        } finally {
          lock.lock();
          writing = false;
        }
        for (Pending b : batch) {
          b.done = true;
          b.error = failure;
        }
        if (failure == null) {
          nextSeq = first + batch.size();
          writtenSeq = nextSeq - 1;
          if (unapplied.isEmpty()) {
            unappliedSince = System.nanoTime();
          }
          unapplied.addAll(entries);
          if (!lingering || shouldApplyNow()) {
            work.signal();
          }
        } else {
          for (Pending b : batch) {
            pendingBytes -= b.body.bytes().length;
          }
          room.signalAll();
        }
        written.signalAll();
      }
    } finally {
      lock.unlock();
    }
    if (p.error != null) {
      throw p.error;
    }
  }

  /**
   * Writes records at the end of the current segment (the next ones when full); one O_DSYNC write per segment. The
   * segments the batch needs are at hand before a byte is written: a failure to make one (a full disk) leaves no
   * record of a message that is then refused.
   */
  private void write(List<Entry> entries) throws IOException {
    if (current == null) {
      Segment first = newSegment();
      lock.lock();
      try {
        current = first;
      } finally {
        lock.unlock();
      }
    }
    ArrayDeque<Segment> next = new ArrayDeque<>();
    try {
      for (int k = segmentsNeeded(entries); k > 0; k--) {
        Segment s;
        lock.lock();
        try {
          s = spares.poll();
        } finally {
          lock.unlock();
        }
        next.add(s != null ? s : newSegment());
      }
    } catch (IOException | RuntimeException e) {
      lock.lock();
      try {
        next.descendingIterator().forEachRemaining(spares::addFirst);
      } finally {
        lock.unlock();
      }
      throw e;
    }
    int i = 0;
    while (i < entries.size()) {
      long space = segmentSize - current.position;
      int n = 0;
      long bytes = 0;
      while (i + n < entries.size() && bytes + entries.get(i + n).recordSize() <= space) {
        bytes += entries.get(i + n).recordSize();
        n++;
      }
      if (n == 0) {
        if (current.position == 0) {
          throw new IOException("a record of " + entries.get(i).recordSize() + " bytes does not fit a segment");
        }
        switchSegment(next.poll());
        continue;
      }
      ByteBuffer buf = ByteBuffer.allocate((int) bytes);
      for (int k = i; k < i + n; k++) {
        encode(entries.get(k), current.salt, buf);
      }
      buf.flip();
      long pos = current.position;
      while (buf.hasRemaining()) {
        pos += current.channel.write(buf, pos);
      }
      current.position = pos;
      current.lastSeq = entries.get(i + n - 1).seq();
      i += n;
    }
  }

  /** How many segments after the current one {@link #write} fills with these records (packed as it packs them). */
  private int segmentsNeeded(List<Entry> entries) throws IOException {
    int n = 0;
    long pos = current.position;
    for (Entry e : entries) {
      if (e.recordSize() > segmentSize) {
        throw new IOException("a record of " + e.recordSize() + " bytes does not fit a segment");
      }
      if (pos + e.recordSize() > segmentSize) {
        n++;
        pos = 0;
      }
      pos += e.recordSize();
    }
    return n;
  }

  /** The current segment is full: it waits to be reused, the next one (taken by {@link #write}) takes over. */
  private void switchSegment(Segment next) throws IOException {
    Segment old = current;
    old.channel.close();
    lock.lock();
    try {
      retired.add(old);
      current = next;
      work.signal(); // the applier reuses or deletes what is applied
    } finally {
      lock.unlock();
    }
  }

  /**
   * Makes a segment: written full of zeros under a temporary name, forced, renamed, the folder forced; then
   * opened for O_DSYNC writes, which change no metadata.
   */
  private Segment newSegment() throws IOException {
    long number;
    lock.lock();
    try {
      number = nextSegment++;
    } finally {
      lock.unlock();
    }
    Segment s = segment(number);
    Path tmp = dir.resolve(String.format("%016x.new", number));
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
          StandardOpenOption.WRITE)) {
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        for (long pos = 0; pos < segmentSize; ) {
          zeros.clear().limit((int) Math.min(zeros.capacity(), segmentSize - pos));
          pos += ch.write(zeros, pos);
        }
        ch.force(true);
      }
      Files.move(tmp, s.path, StandardCopyOption.ATOMIC_MOVE);
      BlobStore.force(dir);
      s.channel = FileChannel.open(s.path, StandardOpenOption.WRITE, StandardOpenOption.DSYNC);
      return s;
    } catch (IOException | RuntimeException e) {
      // Near full: no partial file left behind, whatever step failed (an empty segment holds no record).
      delete(tmp);
      delete(s.path);
      throw e;
    }
  }

  /** A segment's number and a new salt, and the name that holds both. */
  private Segment segment(long number) {
    long salt = RANDOM.nextLong();
    return new Segment(number, salt, dir.resolve(String.format("%016x-%016x.seg", number, salt)));
  }

  private static void encode(Entry e, long salt, ByteBuffer buf) {
    int start = buf.position();
    int length = e.recordSize() - HEADER;
    buf.putInt(MAGIC).putInt(length).putLong(e.seq()).putInt(0);
    int payload = buf.position();
    buf.putLong(e.date().toEpochMilli());
    buf.putInt(e.targets().size());
    for (Target t : e.targets()) {
      buf.putLong(t.accountId()).putLong(t.mailboxId());
    }
    buf.put(HexFormat.of().parseHex(e.body().hash()));
    buf.put(e.body().bytes());
    buf.putInt(start + 16, crc(ByteBuffer.allocate(16).putLong(salt).putLong(e.seq()), buf.array(), payload, length));
  }

  /** CRC-32C of what identifies a record (the segment's salt and its sequence number; DMI1: the latter) and payload. */
  private static int crc(ByteBuffer identity, byte[] a, int off, int len) {
    CRC32C c = new CRC32C();
    c.update(identity.flip());
    c.update(a, off, len);
    return (int) c.getValue();
  }

  // ---- start-up ----------------------------------------------------------------------------------------------

  /**
   * Applies every record above the applied sequence number, in order, then removes the old segments. When that
   * fails (a full disk), the start goes on: the records stay journaled and the applier stores them when it can
   * ({@link #defer}).
   */
  private void recover() throws IOException {
    final long applied0 = store.intakeApplied();
    long done = applied0;
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.sorted().toList();
    }
    // By sequence number; a number written twice (a failed write retried in a later segment) keeps the later copy.
    TreeMap<Long, Entry> found = new TreeMap<>();
    long maxSegment = -1;
    TreeMap<Long, Segment> old = new TreeMap<>();
    for (Path f : files) {
      java.util.regex.Matcher m = NAME.matcher(f.getFileName().toString());
      if (!m.matches()) {
        log.warn("intake: {} is not a journal segment (<16 hex digits>[-<16 hex digits>].seg); left alone", f);
        continue;
      }
      long number = Long.parseUnsignedLong(m.group(1), 16);
      maxSegment = Math.max(maxSegment, number);
      if (m.group(3).equals("seg")) {
        Segment seg = new Segment(number, 0, f);
        seg.lastSeq = applied0;
        for (Entry e : read(f)) {
          found.put(e.seq(), e);
          seg.lastSeq = Math.max(seg.lastSeq, e.seq());
        }
        old.put(number, seg);
      } else {
        delete(f); // a segment being made when the process stopped: it holds no record
      }
    }
    nextSegment = maxSegment + 1;
    List<Entry> toApply = found.values().stream().filter(e -> e.seq() > applied0).toList();
    try {
      done = recover(found, toApply, done);
    } catch (IOException | RuntimeException e) {
      defer(found, toApply, old.values(), applied0, e);
      return;
    }
    for (Segment seg : old.values()) {
      Files.delete(seg.path);
    }
    nextSeq = done + 1;
    writtenSeq = done;
    appliedSeq = done;
  }

  /** Checks every journaled blob, applies what is not stored, forces the blobs; returns the last applied number. */
  private long recover(TreeMap<Long, Entry> found, List<Entry> toApply, long done) throws IOException {
    // Every blob of a segment still here may be unforced, even of applied records: checked, rewritten when it
    // is not whole, and forced before the segment goes.
    List<String> hashes = new ArrayList<>();
    for (Entry e : found.values()) {
      store.blobs().repair(e.body());
      hashes.add(e.body().hash());
    }
    if (!toApply.isEmpty()) {
      log.info("intake: applying {} message(s) journaled before the last stop", toApply.size());
      for (int i = 0; i < toApply.size(); i += MAX_APPLY_BATCH) {
        apply(toApply.subList(i, Math.min(toApply.size(), i + MAX_APPLY_BATCH)), -1);
      }
      done = toApply.getLast().seq();
    }
    forceAll(hashes);
    return done;
  }

  /**
   * A start that cannot store what the journal holds (a full disk, a failing database) goes on, serving reads and
   * refusing new mail, instead of failing: the records wait in {@code unapplied} for the applier, which retries,
   * and the old segments stay until their records are stored and their blobs checked and forced.
   */
  private void defer(TreeMap<Long, Entry> found, List<Entry> toApply, java.util.Collection<Segment> old,
      long applied0, Exception cause) {
    log.warn("intake: cannot store the {} message(s) journaled before the last stop yet ({}); they stay journaled"
        + " and are stored when space allows", toApply.size(), cause.toString());
    long last = found.isEmpty() ? applied0 : Math.max(applied0, found.lastKey());
    for (Entry e : found.values()) {
      toRepair.add(e.body());
    }
    unapplied.addAll(toApply);
    for (Entry e : toApply) {
      pendingBytes += e.body().bytes().length;
    }
    unappliedSince = System.nanoTime();
    retired.addAll(old);
    appliedUnknown = true; // a batch may have been stored before the failure
    nextSeq = last + 1;
    writtenSeq = last;
    appliedSeq = applied0;
    if (!toApply.isEmpty()) {
      applying.failed(cause);
    }
  }

  /**
   * Whether {@code dir} holds a journal segment: a stop that applied everything removes them all, so a segment may
   * hold accepted mail not stored yet ({@link PostgresDatabase}, which has no journal, refuses to start over one).
   */
  static boolean holdsRecords(Path dir) {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (java.util.stream.Stream<Path> s = Files.list(dir)) {
      return s.anyMatch(p -> NAME.matcher(p.getFileName().toString()).matches()
          && p.getFileName().toString().endsWith(".seg"));
    } catch (IOException e) {
      throw new StoreException("cannot read the intake journal " + dir + ": " + org.darwinmail.errors.Errors.reason(e));
    }
  }

  /**
   * The bodies the journal in {@code dir} holds, by hash: every record of every segment, stored or not (a segment
   * still there may name blobs never forced). For the backup before a migration ({@link Backup#create} with the
   * journal), which must not take a blob file a killed process left empty or short for the body. Reads only.
   */
  static java.util.Map<String, byte[]> journaledBodies(Path dir) throws IOException {
    java.util.Map<String, byte[]> out = new java.util.HashMap<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    List<Path> segments;
    try (java.util.stream.Stream<Path> s = Files.list(dir)) {
      segments = s.filter(p -> NAME.matcher(p.getFileName().toString()).matches()
          && p.getFileName().toString().endsWith(".seg")).sorted().toList();
    }
    for (Path seg : segments) {
      for (Entry e : read(seg)) {
        out.put(e.body().hash(), e.body().bytes());
      }
    }
    return out;
  }

  /**
   * Refuses (one line, {@link DataFormat#newer}) a journal holding a segment whose first record has the magic of a
   * newer format ("DMI3" and up): this release would take it for the end of the segment and then reuse or delete the
   * file, losing the mail a newer release acknowledged. Reads the first 4 bytes of each segment; writes nothing.
   * {@link DataFormat#check} calls it before anything is written; {@link #open} again, for its own callers.
   */
  static void checkReadable(Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    List<Path> segments;
    try (java.util.stream.Stream<Path> s = Files.list(dir)) {
      segments = s.filter(p -> NAME.matcher(p.getFileName().toString()).matches()
          && p.getFileName().toString().endsWith(".seg")).sorted().toList();
    } catch (IOException e) {
      throw new StoreException("cannot read the intake journal " + dir + ": " + org.darwinmail.errors.Errors.reason(e));
    }
    for (Path seg : segments) {
      byte[] head = new byte[4];
      try (InputStream in = Files.newInputStream(seg)) {
        if (in.readNBytes(head, 0, 4) < 4) {
          continue;
        }
      } catch (IOException e) {
        throw new StoreException("cannot read the intake journal segment " + seg + ": "
            + org.darwinmail.errors.Errors.reason(e));
      }
      int version = head[3] - '0';
      if (head[0] == 'D' && head[1] == 'M' && head[2] == 'I' && version > FORMAT && version <= 9) {
        throw DataFormat.newer(dir.getParent(), "a newer release of Darwin Mail", "intake journal format "
            + version + " in " + dir.getFileName() + "/" + seg.getFileName() + ", this release reads up to " + FORMAT,
            "that release or a newer one");
      }
    }
  }

  /**
   * The records of one segment ({@code <number>-<salt>.seg}, or an older release's {@code <number>.seg}), from its
   * start to the first one that does not check.
   */
  static List<Entry> read(Path segment) throws IOException {
    java.util.regex.Matcher m = NAME.matcher(segment.getFileName().toString());
    if (!m.matches()) {
      throw new IOException(segment + " is not named as a journal segment");
    }
    Long salt = m.group(2) == null ? null : Long.parseUnsignedLong(m.group(2), 16);
    byte[] a = Files.readAllBytes(segment);
    ByteBuffer buf = ByteBuffer.wrap(a);
    List<Entry> out = new ArrayList<>();
    while (buf.remaining() >= HEADER) {
      int start = buf.position();
      int magic = buf.getInt();
      int length = buf.getInt();
      long seq = buf.getLong();
      int crc = buf.getInt();
      ByteBuffer identity = salt != null && magic == MAGIC ? ByteBuffer.allocate(16).putLong(salt).putLong(seq)
          : salt == null && magic == MAGIC_V1 ? ByteBuffer.allocate(8).putLong(seq) : null;
      if (identity == null || length < 8 + 4 + 32 || length > buf.remaining()
          || crc(identity, a, start + HEADER, length) != crc) {
        break;
      }
      long date = buf.getLong();
      int n = buf.getInt();
      if (n <= 0 || n > MAX_TARGETS || 8 + 4 + 16L * n + 32 > length) {
        break;
      }
      List<Target> targets = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        targets.add(new Target(buf.getLong(), buf.getLong()));
      }
      byte[] hash = new byte[32];
      buf.get(hash);
      byte[] body = new byte[length - 8 - 4 - 16 * n - 32];
      buf.get(body);
      out.add(new Entry(seq, targets, Instant.ofEpochMilli(date), new BlobStore.Small(HexFormat.of().formatHex(hash),
          body)));
    }
    return out;
  }

  // ---- the applier -------------------------------------------------------------------------------------------

  private void applyLoop() {
    while (true) {
      List<Entry> batch = new ArrayList<>();
      lock.lock();
      try {
        while (unapplied.isEmpty() && !closing && !retirable() && !spareWanted()) {
          work.awaitUninterruptibly();
        }
        if (unapplied.isEmpty() && closing) {
          return;
        }
        linger();
        while (!unapplied.isEmpty() && batch.size() < MAX_APPLY_BATCH) {
          batch.add(unapplied.poll());
        }
      } finally {
        lock.unlock();
      }
      if (!batch.isEmpty() && !applyRetrying(batch)) {
        return; // closing: what is not stored stays journaled for the next start
      }
      retireApplied(); // a segment all of whose records are stored becomes a spare
      boolean makeSpare;
      lock.lock();
      try {
        makeSpare = spareWanted();
      } finally {
        lock.unlock();
      }
      if (makeSpare) {
        try {
          Segment s = newSegment();
          lock.lock();
          try {
            spares.add(s);
          } finally {
            lock.unlock();
          }
          making.ok();
        } catch (IOException e) {
          making.failed(e);
          backoff(making);
        }
      }
    }
  }

  /**
   * With the lock held: whether a spare is to be made new: once the journal is in use, until there are {@link #SPARES}
   * counting the retired segments (each becomes a spare when its records are stored).
   */
  private boolean spareWanted() {
    // Not while the disk is under its reserve: the writer makes a segment itself when it needs one.
    return current != null && !closing && spares.size() + retired.size() < SPARES && !capacity().full();
  }

  private Capacity capacity() {
    return store.blobs().capacity();
  }

  /** With the lock held: whether the oldest retired segment's records are all stored. */
  private boolean retirable() {
    return !retired.isEmpty() && retired.peek().lastSeq <= appliedSeq;
  }

  /** With the lock held: waits up to {@link #LINGER_NANOS} after the oldest unapplied message for more to come. */
  private void linger() {
    try {
      while (!unapplied.isEmpty() && !shouldApplyNow()) {
        long left = unappliedSince + LINGER_NANOS - System.nanoTime();
        if (left <= 0) {
          break;
        }
        lingering = true;
        work.awaitNanos(left);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      lingering = false;
    }
  }

  /** With the lock held: whether the applier should store what waits without lingering. */
  private boolean shouldApplyNow() {
    return closing || readersWaiting > 0 || unapplied.size() >= MAX_APPLY_BATCH || pendingBytes > MAX_PENDING_BYTES / 2;
  }

  /** Reuses or deletes the segments whose records are all applied (a segment is retired after its records may be). */
  private void retireApplied() {
    long done = appliedSeq;
    boolean any;
    lock.lock();
    try {
      any = retirable();
    } finally {
      lock.unlock();
    }
    if (any) {
      retire(done);
    }
  }

  /**
   * Applies a batch; a failure (the disk, the database) is retried with a growing pause until it works: the messages
   * were accepted. Meanwhile readers do not wait for them and new mail is refused ({@link Capacity#stalled()}).
   * Returns false when the journal closes first (the batch stays journaled: the next start stores it).
   */
  private boolean applyRetrying(List<Entry> batch) {
    int collected = 0; // attempts that lost a blob to the collector between its write and its claim
    while (true) {
      long known;
      lock.lock();
      try {
        // The applied number is known here, except after a failure (a batch may have been stored in part).
        known = appliedUnknown ? -1 : appliedSeq;
      } finally {
        lock.unlock();
      }
      try {
        apply(batch, known);
        break;
      } catch (RuntimeException | IOException e) {
        lock.lock();
        try {
          appliedUnknown = true;
        } finally {
          lock.unlock();
        }
        if (e instanceof BlobStore.Missing && ++collected <= 3) {
          continue; // not a failure to write: the next attempt writes the blob again (BlobStore, "collection")
        }
        applying.failed(e);
        if (!backoff(applying)) {
          return false;
        }
      }
    }
    applying.ok();
    long last = batch.getLast().seq();
    for (Entry e : batch) {
      unforced.add(e.body().hash());
    }
    lock.lock();
    try {
      appliedSeq = last;
      appliedUnknown = false;
      for (Entry e : batch) {
        pendingBytes -= e.body().bytes().length;
      }
      applied.signalAll();
      room.signalAll();
    } finally {
      lock.unlock();
    }
    return true;
  }

  /**
   * Reuses (as spares) or deletes the retired segments whose records are all applied, after forcing every blob
   * applied so far (theirs among them: records are applied in order). A failure leaves them for the next time.
   */
  private void retire(long appliedUpTo) {
    try {
      // Blobs of segments a start left (deferred): checked and rewritten when not whole, as at a start.
      for (java.util.Iterator<BlobStore.Small> it = toRepair.iterator(); it.hasNext(); ) {
        BlobStore.Small b = it.next();
        store.blobs().repair(b);
        unforced.add(b.hash());
        it.remove();
      }
      forceAll(unforced);
      unforced.clear();
      forcing.ok();
    } catch (IOException | RuntimeException e) {
      forcing.failed(e);
      backoff(forcing);
      return;
    }
    List<Segment> done = new ArrayList<>();
    lock.lock();
    try {
      while (!retired.isEmpty() && retired.peek().lastSeq <= appliedUpTo) {
        done.add(retired.poll());
      }
    } finally {
      lock.unlock();
    }
    for (Segment s : done) {
      if (!reuse(s)) {
        delete(s.path);
      }
    }
  }

  /**
   * Makes a segment whose records are all stored and whose blobs are forced a spare, under the next number and a
   * new salt: renamed, and the folder forced before a record is written under the new name (its old records, whose
   * CRC covers the old salt, no longer check). Returns false when there are enough spares.
   */
  private boolean reuse(Segment old) {
    long number;
    lock.lock();
    try {
      // A segment a start left (an older release's, or of another size) is not reused: its blocks may not all be
      // written.
      if (spares.size() >= SPARES || closing || old.path.toFile().length() != segmentSize) {
        return false;
      }
      number = nextSegment++;
    } finally {
      lock.unlock();
    }
    Segment s = segment(number);
    try {
      Files.move(old.path, s.path, StandardCopyOption.ATOMIC_MOVE);
      BlobStore.force(dir);
      s.channel = FileChannel.open(s.path, StandardOpenOption.WRITE, StandardOpenOption.DSYNC);
      lock.lock();
      try {
        spares.add(s);
      } finally {
        lock.unlock();
      }
    } catch (IOException e) {
      log.warn("intake: cannot reuse {} as {} (a new segment will be made): {}", old.path, s.path, e.toString());
      delete(old.path);
      delete(s.path);
    }
    return true;
  }

  private static void delete(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      log.warn("intake: cannot remove {}: {}", p, e.toString());
    }
  }

  /**
   * A background step that fails (a full disk): one log line when it starts failing and one when it works again,
   * not one per attempt; attempts spaced by a pause that doubles from 100 ms to 5 s.
   */
  private final class Trouble {
    private static final long FIRST_MILLIS = 100;
    private static final long MAX_MILLIS = 5_000;
    private final String what;
    private final String recovered;
    private boolean failing;
    private long pauseMillis = FIRST_MILLIS;

    Trouble(String what, String recovered) {
      this.what = what;
      this.recovered = recovered;
    }

    void failed(Exception e) {
      if (!failing) {
        failing = true;
        log.warn("intake: {}: {}; retrying", what, e.toString());
        if (this == applying) {
          stall(true);
        }
      } else {
        log.debug("intake: {}: {}", what, e.toString());
      }
    }

    void ok() {
      pauseMillis = FIRST_MILLIS;
      if (failing) {
        failing = false;
        log.info("intake: {}", recovered);
        if (this == applying) {
          stall(false);
        }
      }
    }

    long nextPause() {
      long p = pauseMillis;
      pauseMillis = Math.min(MAX_MILLIS, pauseMillis * 2);
      return p;
    }
  }

  /** The applier cannot store (or can again): readers stop waiting for it, writers stop waiting for room. */
  private void stall(boolean stalled) {
    lock.lock();
    try {
      capacity().stalled(stalled);
      applied.signalAll();
      room.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Waits before the next attempt at a failing step; returns false at once when the journal is closing. */
  private boolean backoff(Trouble t) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(t.nextPause());
    lock.lock();
    try {
      long left;
      while (!closing && (left = deadline - System.nanoTime()) > 0) {
        work.awaitNanos(left);
      }
      return !closing;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Blobs first, written but not forced (the journal keeps their content until {@link #forceAll} before a segment
   * goes), then every row and the applied sequence number in one transaction.
   */
  private void apply(List<Entry> batch, long applied) throws IOException {
    List<MailStore.Delivery> deliveries = new ArrayList<>(batch.size());
    for (Entry e : batch) {
      BlobRef ref = store.blobs().storeUnforced(e.body());
      deliveries.add(new MailStore.Delivery(e.seq(), e.targets(), ref, e.date()));
    }
    store.deliverJournaled(deliveries, applied);
  }

  /**
   * Forces blobs to disk. One {@code syncfs(2)} of the blob store's file system ({@code sync -f}, coreutils 8.24+)
   * when it is there: one journal commit and one cache flush for all of them (measured here: 24-40 ms after
   * writing 400 blobs of 10 KB, against 150-200 ms for 400 fsyncs one after another, and a burst of flushes
   * that made the journal's own writes wait). Otherwise one fsync per blob, many at once.
   */
  private void forceAll(java.util.Collection<String> hashes) throws IOException {
    if (hashes.isEmpty() || store.blobs().durableOnWrite()) {
      return; // S3: each blob was durable when apply's upload was answered, before its row committed
    }
    if (syncfs) {
      Process p = null;
      try {
        p = new ProcessBuilder("sync", "-f", store.blobs().root().toString()).redirectErrorStream(true).start();
      } catch (IOException e) {
        log.warn("intake: cannot run `sync -f` ({}); forcing each blob instead", e.toString());
        syncfs = false;
      }
      if (p != null) {
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try {
          if (p.waitFor() == 0) {
            return;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
        // A write-back error: the blobs are not known to be on disk.
        throw new IOException("sync -f " + store.blobs().root() + ": " + out.strip());
      }
    }
    java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(32);
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Void>> forced = new ArrayList<>(hashes.size());
      for (String h : new java.util.LinkedHashSet<>(hashes)) {
        forced.add(pool.submit(() -> {
          slots.acquire();
          try {
            store.blobs().force(h);
          } finally {
            slots.release();
          }
          return null;
        }));
      }
      for (Future<Void> f : forced) {
        f.get();
      }
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  // ---- readers -----------------------------------------------------------------------------------------------

  /**
   * Waits until every message journaled before this call is in its mailboxes (at most 30 s, then goes on). Returns
   * at once, false, while the applier cannot store (a full disk): the read then shows what is stored, and the
   * caller may say so. True when the read sees every message acknowledged before it.
   */
  public boolean awaitApplied() {
    long target = writtenSeq;
    if (appliedSeq >= target || Thread.currentThread() == applier) {
      return true;
    }
    lock.lock();
    readersWaiting++;
    work.signal();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (appliedSeq < target) {
        long left = deadline - System.nanoTime();
        if (capacity().stalled()) {
          return false;
        }
        if (left <= 0) {
          log.warn("intake: readers waited 30 s for the applier; going on");
          return false;
        }
        applied.awaitNanos(left);
      }
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      readersWaiting--;
      lock.unlock();
    }
  }

  /** Whether a journaled message not yet stored (or a blob a start left to check) has this content. */
  public boolean holds(String hash) {
    lock.lock();
    try {
      return unapplied.stream().anyMatch(e -> e.body().hash().equals(hash))
          || toRepair.stream().anyMatch(b -> b.hash().equals(hash));
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops taking messages, applies everything journaled, closes the segment. When the applier cannot store (a full
   * disk) it stops at once: what is not stored stays journaled, in its segments, for the next start.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      if (closing) {
        return;
      }
      closing = true;
      work.signalAll();
      room.signalAll();
      while (writing) {
        written.awaitUninterruptibly();
      }
    } finally {
      lock.unlock();
    }
    try {
      applier.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      if (current != null) {
        current.channel.close();
      }
      for (Segment s : spares) {
        s.channel.close();
        Files.deleteIfExists(s.path);
      }
      if (appliedSeq < writtenSeq) {
        log.warn("intake: stopping with {} accepted message(s) not stored yet; they stay journaled in {} and the"
            + " next start stores them", writtenSeq - appliedSeq, dir);
        return;
      }
      if (!toRepair.isEmpty()) {
        return; // the blobs of segments a start left are not checked yet: the next start checks them
      }
      // Everything is applied: once the blobs are forced no segment is needed (else the next start sees to it).
      forceAll(unforced);
      unforced.clear();
      for (Segment s : retired) {
        Files.deleteIfExists(s.path);
      }
      if (current != null) {
        Files.deleteIfExists(current.path);
      }
    } catch (IOException e) {
      log.warn("intake: closing: {}", e.toString());
    }
  }

  /** The sequence number of the last message whose rows are committed (store.Verify compares the database's). */
  public long appliedSeq() {
    return appliedSeq;
  }

  /** The sequence number of the last message journaled. */
  public long writtenSeq() {
    return writtenSeq;
  }

  /** For the log and tests: "journaled / applied" sequence numbers. */
  @Override
  public String toString() {
    return "intake " + dir + " written=" + writtenSeq + " applied=" + appliedSeq;
  }
}
