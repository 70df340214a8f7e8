package org.darwinmail.imap;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;

/**
 * A session's view of its selected mailbox (RFC 3501 §2.3.1.2): message sequence numbers map to UIDs in ascending
 * order. Changes made by others are noted ({@link #dirty}) and announced only at the moments the RFC allows;
 * messages expunged elsewhere stay in the view as "gone" until their EXPUNGE can be sent (RFC 3501 §7.4.1: not
 * during FETCH, STORE or SEARCH).
 */
final class Selected {
  final Mailbox mailbox;
  final boolean readOnly;
  final List<Long> uids = new ArrayList<>();
  final Map<Long, MessageRow> rows = new HashMap<>();
  final Set<Long> gone = new HashSet<>();
  final Set<Long> recent = new HashSet<>();
  /** The keywords this session was told of in FLAGS (RFC 3501 §7.2.6): a new one is announced before its use. */
  final Set<String> keywords = new java.util.TreeSet<>(String.CASE_INSENSITIVE_ORDER);
  final AtomicBoolean dirty = new AtomicBoolean();
  /** The mailbox's modseq when this view last caught up: later changes are read incrementally. */
  long syncedModseq;
  AutoCloseable subscription;

  Selected(Mailbox mailbox, boolean readOnly, List<MessageRow> messages) {
    this.mailbox = mailbox;
    this.readOnly = readOnly;
    for (MessageRow m : messages) {
      uids.add(m.uid());
      rows.put(m.uid(), m);
    }
  }

  int size() {
    return uids.size();
  }

  /** The sequence number of a UID in the view, or 0. */
  int msn(long uid) {
    int i = Collections.binarySearch(uids, uid);
    return i < 0 ? 0 : i + 1;
  }

  long maxUid() {
    return uids.isEmpty() ? 0 : uids.get(uids.size() - 1);
  }

  /** The messages of the view, in sequence order, that a sequence set names (by UID when {@code byUid}). */
  List<MessageRow> resolve(SeqSet set, boolean byUid, List<Long> saved) {
    List<MessageRow> out = new ArrayList<>();
    if (set.saved()) {
      for (long uid : saved) {
        MessageRow r = rows.get(uid);
        if (r != null && msn(uid) > 0) {
          out.add(r);
        }
      }
      out.sort((a, b) -> Long.compare(a.uid(), b.uid()));
      return out;
    }
    if (byUid) {
      long max = maxUid();
      for (long uid : uids) {
        if (set.contains(uid, max)) {
          out.add(rows.get(uid));
        }
      }
    } else {
      int n = uids.size();
      long upper = set.upper(n);
      if (upper > n) {
        throw ImapException.bad("Invalid message sequence number");
      }
      for (int i = 1; i <= n; i++) {
        if (set.contains(i, n)) {
          out.add(rows.get(uids.get(i - 1)));
        }
      }
    }
    return out;
  }
}
