package org.darwinmail.store;

import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.function.LongPredicate;

/**
 * The rows of one mailbox held in memory by a session (IMAP's selected mailbox, POP3's maildrop) in ascending UID
 * order, kept in columns of primitives: the UID,
 * the blob's SHA-256 as four longs, the size, the two dates as seconds and nanoseconds, the flags, the modseq, the
 * keywords (one shared set per distinct set) and \Recent. About 90 bytes a message; a {@link MessageRow} is made
 * when one is asked for. A blob name that is not 64 lower-case hex digits (none the store makes) is kept as it is.
 * The columns' size is taken from a {@link ViewBudget} as they grow and given back by {@link #trim} and
 * {@link #release}: {@link #tryAdd} stops at the budget (a SELECT, a POP3 login), {@link #add} goes past it (new mail
 * in a mailbox already held).
 */
public final class MessageTable {
  private static final HexFormat HEX = HexFormat.of();
  /**
   * Bytes a row's place takes in the columns: UID 8, hash 32, size 8, the dates 8 + 4 + 8 + 4, flags 4, modseq 8,
   * the keywords' reference 4 (compressed), \Recent 1.
   */
  public static final int ROW_BYTES = 89;

  private final long mailboxId;
  private final ViewBudget budget;
  /** What the columns have taken of {@link #budget}: {@link #bytes} whenever a method returns. */
  private long accounted;
  private int size;
  private long[] uid = new long[0];
  private long[] hash = new long[0];
  /** Blob names that are not a SHA-256 in hex, by index; null until one is seen. */
  private String[] otherBlob;
  private long[] bytes = new long[0];
  private long[] internalSec = new long[0];
  private int[] internalNano = new int[0];
  private long[] saveSec = new long[0];
  private int[] saveNano = new int[0];
  private int[] flags = new int[0];
  private long[] modseq = new long[0];
  private Object[] keywords = new Object[0];
  private boolean[] recent = new boolean[0];
  private int recentCount;
  /** One instance of each distinct keyword set of the mailbox, shared by its rows. */
  private final Map<Set<String>, Set<String>> keywordSets = new HashMap<>();

  public MessageTable(long mailboxId, ViewBudget budget) {
    this.mailboxId = mailboxId;
    this.budget = budget;
  }

  public int size() {
    return size;
  }

  public long uid(int i) {
    check(i);
    return uid[i];
  }

  /** The size in octets of the message at {@code i}. */
  public long messageSize(int i) {
    check(i);
    return bytes[i];
  }

  public int flags(int i) {
    check(i);
    return flags[i];
  }

  public boolean recent(int i) {
    check(i);
    return recent[i];
  }

  public int recentCount() {
    return recentCount;
  }

  /** The heap the columns take (their capacity, not only the rows in use). */
  public long bytes() {
    return (long) uid.length * rowBytes();
  }

  private int rowBytes() {
    return ROW_BYTES + (otherBlob != null ? 4 : 0);
  }

  /** Lets go of the capacity beyond the rows in use (after a SELECT has read them all), and of its budget. */
  public void trim() {
    if (uid.length > size) {
      resize(size);
      budget.give(accounted - bytes());
      accounted = bytes();
    }
  }

  /** Gives back all the columns took of the budget; the table is not used after this. */
  public void release() {
    budget.give(accounted);
    accounted = 0;
  }

  /** The index of {@code u}, or -1. */
  public int indexOf(long u) {
    int i = Arrays.binarySearch(uid, 0, size, u);
    return i < 0 ? -1 : i;
  }

  /** Appends a row whose UID is above every UID of the table, growing past the budget if need be. */
  public void add(MessageRow r) {
    append(r, false);
  }

  /** {@link #add}, unless the columns would have to grow past the budget: false then, and nothing added or taken. */
  public boolean tryAdd(MessageRow r) {
    return append(r, true);
  }

  private boolean append(MessageRow r, boolean withinBudget) {
    if (size > 0 && r.uid() <= uid[size - 1]) {
      throw new IllegalArgumentException("UID " + r.uid() + " not above " + uid[size - 1]);
    }
    if (size == uid.length) {
      int n = Math.max(16, uid.length + (uid.length >> 1));
      long more = (long) (n - uid.length) * rowBytes();
      if (!withinBudget) {
        budget.force(more);
      } else if (!budget.take(more)) {
        return false;
      }
      accounted += more;
      resize(n);
    }
    uid[size] = r.uid();
    recent[size] = false;
    fill(size, r);
    size++;
    return true;
  }

  /** Takes a newer row (flags, keywords, modseq) of the message at {@code i}. */
  public void set(int i, MessageRow r) {
    check(i);
    if (r.uid() != uid[i]) {
      throw new IllegalArgumentException("UID " + r.uid() + " is not at " + i);
    }
    fill(i, r);
  }

  private void fill(int i, MessageRow r) {
    String b = r.blob();
    if (isHash(b)) {
      for (int k = 0; k < 4; k++) {
        hash[4 * i + k] = HexFormat.fromHexDigitsToLong(b, 16 * k, 16 * k + 16);
      }
      if (otherBlob != null) {
        otherBlob[i] = null;
      }
    } else {
      if (otherBlob == null) {
        otherBlob = new String[uid.length];
        budget.force(4L * uid.length);
        accounted += 4L * uid.length;
      }
      otherBlob[i] = b;
    }
    bytes[i] = r.size();
    internalSec[i] = r.internalDate().getEpochSecond();
    internalNano[i] = r.internalDate().getNano();
    saveSec[i] = r.saveDate().getEpochSecond();
    saveNano[i] = r.saveDate().getNano();
    flags[i] = r.flags();
    modseq[i] = r.modseq();
    keywords[i] = r.keywords().isEmpty() ? Set.of() : keywordSets.computeIfAbsent(r.keywords(), Set::copyOf);
  }

  public MessageRow row(int i) {
    check(i);
    String b;
    if (otherBlob != null && otherBlob[i] != null) {
      b = otherBlob[i];
    } else {
      byte[] raw = new byte[32];
      for (int k = 0; k < 4; k++) {
        long v = hash[4 * i + k];
        for (int j = 0; j < 8; j++) {
          raw[8 * k + j] = (byte) (v >>> (56 - 8 * j));
        }
      }
      b = HEX.formatHex(raw);
    }
    Instant internal = Instant.ofEpochSecond(internalSec[i], internalNano[i]);
    Instant saved = saveSec[i] == internalSec[i] && saveNano[i] == internalNano[i] ? internal
        : Instant.ofEpochSecond(saveSec[i], saveNano[i]);
    @SuppressWarnings("unchecked")
    Set<String> kw = (Set<String>) keywords[i];
    return new MessageRow(mailboxId, uid[i], b, bytes[i], internal, flags[i], kw, modseq[i], saved);
  }

  public void setRecent(int i) {
    check(i);
    if (!recent[i]) {
      recent[i] = true;
      recentCount++;
    }
  }

  /** Removes the rows whose UID {@code gone} accepts, keeping the others in order. */
  public void removeIf(LongPredicate gone) {
    int w = 0;
    for (int r = 0; r < size; r++) {
      if (gone.test(uid[r])) {
        if (recent[r]) {
          recentCount--;
        }
        continue;
      }
      if (w != r) {
        move(r, w);
      }
      w++;
    }
    for (int i = w; i < size; i++) {
      keywords[i] = null;
      if (otherBlob != null) {
        otherBlob[i] = null;
      }
    }
    size = w;
  }

  private void move(int from, int to) {
    uid[to] = uid[from];
    System.arraycopy(hash, 4 * from, hash, 4 * to, 4);
    if (otherBlob != null) {
      otherBlob[to] = otherBlob[from];
    }
    bytes[to] = bytes[from];
    internalSec[to] = internalSec[from];
    internalNano[to] = internalNano[from];
    saveSec[to] = saveSec[from];
    saveNano[to] = saveNano[from];
    flags[to] = flags[from];
    modseq[to] = modseq[from];
    keywords[to] = keywords[from];
    recent[to] = recent[from];
  }

  private void resize(int n) {
    uid = Arrays.copyOf(uid, n);
    hash = Arrays.copyOf(hash, 4 * n);
    if (otherBlob != null) {
      otherBlob = Arrays.copyOf(otherBlob, n);
    }
    bytes = Arrays.copyOf(bytes, n);
    internalSec = Arrays.copyOf(internalSec, n);
    internalNano = Arrays.copyOf(internalNano, n);
    saveSec = Arrays.copyOf(saveSec, n);
    saveNano = Arrays.copyOf(saveNano, n);
    flags = Arrays.copyOf(flags, n);
    modseq = Arrays.copyOf(modseq, n);
    keywords = Arrays.copyOf(keywords, n);
    recent = Arrays.copyOf(recent, n);
  }

  private void check(int i) {
    if (i < 0 || i >= size) {
      throw new IndexOutOfBoundsException(i + " of " + size);
    }
  }

  private static boolean isHash(String b) {
    if (b.length() != 64) {
      return false;
    }
    for (int i = 0; i < 64; i++) {
      char c = b.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
        return false;
      }
    }
    return true;
  }
}
