package org.darwinmail.imap;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.RandomAccess;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.MessageTable;
import org.darwinmail.store.ViewBudget;

/**
 * A session's view of its selected mailbox (RFC 3501 §2.3.1.2): message sequence numbers map to UIDs in ascending
 * order. Changes made by others are noted ({@link #dirty}) and announced only at the moments the RFC allows;
 * messages expunged elsewhere stay in the view as "gone" until their EXPUNGE can be sent (RFC 3501 §7.4.1: not
 * during FETCH, STORE or SEARCH).
 *
 * <p>The view holds every message's row, in columns of primitives ({@link MessageTable}): about 90 bytes a message
 * instead of the 300 that a map of {@link MessageRow}s took, so that a few clients selecting a mailbox of 100,000
 * messages do not fill the server's heap (9 such sessions did with the 320 MB heap the launcher gives).
 */
final class Selected {
  final Mailbox mailbox;
  final boolean readOnly;
  final Set<Long> gone = new HashSet<>();
  /** The keywords this session was told of in FLAGS (RFC 3501 §7.2.6): a new one is announced before its use. */
  final Set<String> keywords = new java.util.TreeSet<>(String.CASE_INSENSITIVE_ORDER);
  final AtomicBoolean dirty = new AtomicBoolean();
  /** The mailbox's modseq when this view last caught up: later changes are read incrementally. */
  long syncedModseq;
  AutoCloseable subscription;
  private final MessageTable table;
  /** How many times messages were dropped from the view (positions moved): see {@link Rows}. */
  private long drops;

  /** A SELECT whose view would not fit in the budget ({@link ViewBudget}). */
  static final class TooLarge extends RuntimeException {
    TooLarge() {
      super("the selected views of all sessions would not fit in the heap", null, false, false);
    }
  }

  Selected(Mailbox mailbox, boolean readOnly) {
    this(mailbox, readOnly, ViewBudget.SHARED);
  }

  Selected(Mailbox mailbox, boolean readOnly, ViewBudget budget) {
    this.mailbox = mailbox;
    this.readOnly = readOnly;
    this.table = new MessageTable(mailbox.id(), budget);
  }

  int size() {
    return table.size();
  }

  /** The UID of the message at {@code index} (its sequence number less one). */
  long uid(int index) {
    return table.uid(index);
  }

  /** The row of the message at {@code index}. */
  MessageRow row(int index) {
    return table.row(index);
  }

  /** The system flags of the message at {@code index} ({@link org.darwinmail.store.Flags} bits). */
  int flags(int index) {
    return table.flags(index);
  }

  /** The row of a UID in the view (gone ones included until announced), or null. */
  MessageRow get(long uid) {
    int i = table.indexOf(uid);
    return i < 0 ? null : table.row(i);
  }

  boolean contains(long uid) {
    return table.indexOf(uid) >= 0;
  }

  /** The sequence number of a UID in the view, or 0. */
  int msn(long uid) {
    return table.indexOf(uid) + 1;
  }

  long maxUid() {
    return table.size() == 0 ? 0 : table.uid(table.size() - 1);
  }

  /** Adds a message above every UID of the view (new mail: past the budget if need be). */
  void add(MessageRow r) {
    table.add(r);
  }

  /**
   * Adds a message read by SELECT, above every UID of the view; one at or below the highest is skipped (a read
   * started again after a transient database error hands out its first rows again). Throws {@link TooLarge}, having
   * taken nothing more, when the view would not fit in the budget.
   */
  void load(MessageRow r) {
    if (table.size() > 0 && r.uid() <= maxUid()) {
      return;
    }
    if (!table.tryAdd(r)) {
      throw new TooLarge();
    }
  }

  /** The end of SELECT's reading: the columns' spare capacity goes back. */
  void loaded() {
    table.trim();
  }

  /** Ends the view: no more change events, and what it took of the budget goes back. Not used after this. */
  void close() {
    if (subscription != null) {
      try {
        subscription.close();
      } catch (Exception e) {
        // nothing to do
      }
    }
    table.release();
  }

  /** Takes a newer row of a message in the view (new flags, keywords, modseq); a UID not in the view is ignored. */
  void update(MessageRow r) {
    int i = table.indexOf(r.uid());
    if (i >= 0) {
      table.set(i, r);
    }
  }

  /** \Recent in this session (RFC 3501 §2.3.2). */
  boolean recent(long uid) {
    int i = table.indexOf(uid);
    return i >= 0 && table.recent(i);
  }

  /** Marks the messages above {@code mark} \Recent in this session. */
  void markRecentAbove(long mark) {
    for (int i = table.size() - 1; i >= 0 && table.uid(i) > mark; i--) {
      table.setRecent(i);
    }
  }

  /** Marks one message of the view \Recent in this session. */
  void markRecent(long uid) {
    int i = table.indexOf(uid);
    if (i >= 0) {
      table.setRecent(i);
    }
  }

  int recentCount() {
    return table.recentCount();
  }

  /** Drops the messages of {@link #gone} from the view (their EXPUNGE or VANISHED sent) and empties it. */
  void dropGone() {
    if (!gone.isEmpty()) {
      table.removeIf(gone::contains);
      drops++;
    }
    gone.clear();
  }

  /**
   * The messages of the view, in sequence order, that a sequence set names (by UID when {@code byUid}): a list whose
   * rows are made as they are read ({@link Rows}), so that a FETCH 1:* of 100,000 messages holds no list of rows.
   */
  List<MessageRow> resolve(SeqSet set, boolean byUid, List<Long> saved) {
    Positions at = new Positions();
    if (set.saved()) {
      TreeSet<Integer> found = new TreeSet<>();
      for (long uid : saved) {
        int i = table.indexOf(uid);
        if (i >= 0) {
          found.add(i);
        }
      }
      found.forEach(at::add);
      return rows(at);
    }
    if (byUid) {
      long max = maxUid();
      for (int i = 0; i < table.size(); i++) {
        if (set.contains(table.uid(i), max)) {
          at.add(i);
        }
      }
    } else {
      int size = table.size();
      long upper = set.upper(size);
      if (upper > size) {
        throw ImapException.bad("Invalid message sequence number");
      }
      for (int i = 1; i <= size; i++) {
        if (set.contains(i, size)) {
          at.add(i - 1);
        }
      }
    }
    return rows(at);
  }

  /** The messages at the given positions (ascending), as {@link Rows}. */
  Rows rows(Positions at) {
    return new Rows(at.idx, at.n);
  }

  /** Positions in the view, gathered in ascending order. */
  static final class Positions {
    private int[] idx = new int[16];
    private int n;

    void add(int i) {
      if (n == idx.length) {
        idx = Arrays.copyOf(idx, idx.length * 2);
      }
      idx[n++] = i;
    }
  }

  /**
   * Messages of the view by position, each row made when it is read. Valid until the view drops messages (the
   * positions move then): a command reads it before it sends EXPUNGEs, and a read after that fails loudly.
   */
  final class Rows extends AbstractList<MessageRow> implements RandomAccess {
    private final int[] idx;
    private final int n;
    private final long generation = drops;

    Rows(int[] idx, int n) {
      this.idx = idx;
      this.n = n;
    }

    @Override
    public MessageRow get(int k) {
      if (k < 0 || k >= n) {
        throw new IndexOutOfBoundsException(k + " of " + n);
      }
      if (generation != drops) {
        throw new IllegalStateException("the selected view dropped messages since these were resolved");
      }
      return table.row(idx[k]);
    }

    @Override
    public int size() {
      return n;
    }

    /** These rows less the messages expunged elsewhere and not yet announced ({@link #gone}). */
    Rows live() {
      if (gone.isEmpty()) {
        return this;
      }
      int[] kept = new int[n];
      int m = 0;
      for (int k = 0; k < n; k++) {
        if (!gone.contains(table.uid(idx[k]))) {
          kept[m++] = idx[k];
        }
      }
      return new Rows(kept, m);
    }
  }
}
