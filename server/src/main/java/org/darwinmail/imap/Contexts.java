package org.darwinmail.imap;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.darwinmail.imap.ImapCommand.SortKey;

/**
 * The searches of the selected mailbox a client asked to keep up to date (RFC 5267 §4.3, CONTEXT=SEARCH and
 * CONTEXT=SORT: RETURN (UPDATE)), and the ADDTO / REMOVEFROM updates of their results. A context keeps its search
 * program (sequence numbers and "$" already turned into UIDs: §4.3, they are evaluated when the command is received)
 * and its result as UIDs in the requested order. When the view changed it runs the search again and sends the
 * difference: removals first, before any EXPUNGE that would make their sequence numbers wrong (§4.3.4), additions
 * after the EXISTS of new messages (§4.3.3). A SEARCH context uses context position 0 (mailbox order); a SORT context
 * real positions in its sort order. At most {@link #MAX} contexts per selected mailbox (§4.3.1: NOUPDATE beyond);
 * each costs one search of the mailbox when it changed, none when it did not.
 */
final class Contexts {
  static final int MAX = 10;

  /** Runs a search (and the sort, when {@code criteria} is not null) on the view: UIDs in order, gone ones left out. */
  interface Evaluator {
    List<Long> run(SearchKey key, List<SortKey> criteria);
  }

  private static final class Context {
    final boolean uid;
    final SearchKey key;
    final List<SortKey> criteria;
    List<Long> result;

    Context(boolean uid, SearchKey key, List<SortKey> criteria, List<Long> result) {
      this.uid = uid;
      this.key = key;
      this.criteria = criteria;
      this.result = result;
    }
  }

  private final Evaluator evaluator;
  private final Map<String, Context> byTag = new LinkedHashMap<>();
  private long seenModseq = -1;
  private int seenSize = -1;
  private int seenGone = -1;

  Contexts(Evaluator evaluator) {
    this.evaluator = evaluator;
  }

  boolean has(String tag) {
    return byTag.containsKey(tag);
  }

  boolean full() {
    return byTag.size() >= MAX;
  }

  /** A new context: {@code key} must be pinned already ({@link #pin}); {@code result} the UIDs just returned. */
  void add(String tag, boolean uid, SearchKey key, List<SortKey> criteria, List<Long> result, Selected s) {
    byTag.put(tag, new Context(uid, key, criteria, new ArrayList<>(result)));
    mark(s);
  }

  /** RFC 5267 §4.3.5 CANCELUPDATE: false when a tag names no context. */
  boolean cancel(Collection<String> tags) {
    boolean all = true;
    for (String t : tags) {
      all &= byTag.remove(t) != null;
    }
    return all;
  }

  boolean isEmpty() {
    return byTag.isEmpty();
  }

  private void mark(Selected s) {
    seenModseq = s.syncedModseq;
    seenSize = s.size();
    seenGone = s.gone.size();
  }

  /** Sends the updates of every context whose result changed; with {@code force} even when the view seems not to. */
  void refresh(Selected s, ReplyWriter out, boolean force) {
    if (byTag.isEmpty() || !force && seenModseq == s.syncedModseq && seenSize == s.size()
        && seenGone == s.gone.size()) {
      return;
    }
    mark(s);
    for (Map.Entry<String, Context> e : byTag.entrySet()) {
      Context c = e.getValue();
      List<Long> now = evaluator.run(c.key, c.criteria);
      String line = diff(e.getKey(), c, now, s);
      c.result = new ArrayList<>(now);
      if (line != null) {
        out.send(line);
      }
    }
  }

  /** The ESEARCH line taking {@code c}'s result to {@code now}, or null when they are the same. */
  private static String diff(String tag, Context c, List<Long> now, Selected s) {
    Set<Long> before = new HashSet<>(c.result);
    Set<Long> after = new HashSet<>(now);
    StringBuilder removes = new StringBuilder();
    StringBuilder adds = new StringBuilder();
    if (c.criteria == null) {
      // §4.3.3 / §4.3.4: a SEARCH context may use position 0, the set in mailbox order
      List<Long> gone = new ArrayList<>();
      for (long u : c.result) {
        if (!after.contains(u)) {
          gone.add(number(c, u, s));
        }
      }
      List<Long> added = new ArrayList<>();
      for (long u : now) {
        if (!before.contains(u)) {
          added.add(number(c, u, s));
        }
      }
      if (!gone.isEmpty()) {
        removes.append("0 ").append(SeqSet.format(gone.stream().sorted().toList()));
      }
      if (!added.isEmpty()) {
        adds.append("0 ").append(SeqSet.format(added.stream().sorted().toList()));
      }
    } else {
      // a SORT context: each run of removals at the position its first result holds, then each run of insertions
      // at the position its first result will hold; pairs apply in order (§4.3.2)
      List<Long> kept = new ArrayList<>();
      int pos = 1;
      List<Long> run = new ArrayList<>();
      for (long u : c.result) {
        if (!after.contains(u)) {
          run.add(number(c, u, s));
        } else {
          pair(removes, pos, run);
          kept.add(u);
          pos++;
        }
      }
      pair(removes, pos, run);
      Set<Long> keptSet = new HashSet<>(kept);
      int start = 0;
      for (int j = 0; j < now.size(); j++) {
        long u = now.get(j);
        if (!keptSet.contains(u)) {
          if (run.isEmpty()) {
            start = j + 1;
          }
          run.add(number(c, u, s));
        } else {
          pair(adds, start, run);
        }
      }
      pair(adds, start, run);
    }
    if (removes.isEmpty() && adds.isEmpty()) {
      return null;
    }
    StringBuilder sb = new StringBuilder("* ESEARCH (TAG \"").append(tag).append("\")");
    if (c.uid) {
      sb.append(" UID");
    }
    if (!removes.isEmpty()) {
      sb.append(" REMOVEFROM (").append(removes).append(')');
    }
    if (!adds.isEmpty()) {
      sb.append(" ADDTO (").append(adds).append(')');
    }
    return sb.toString();
  }

  /** Appends "position set" for a non-empty run (in its order: ranges only where ascending, RFC 5267 §3.2). */
  private static void pair(StringBuilder sb, int position, List<Long> run) {
    if (run.isEmpty()) {
      return;
    }
    sb.append(sb.isEmpty() ? "" : " ").append(position).append(' ').append(SeqSet.format(run));
    run.clear();
  }

  private static long number(Context c, long uid, Selected s) {
    return c.uid ? uid : s.msn(uid);
  }

  /**
   * The search program with what depends on the moment of the command made fixed (RFC 5267 §4.3: message sequence
   * numbers are evaluated when the command is received): a sequence set becomes the UIDs it named, "$" the saved
   * UIDs. Other keys stay as they are.
   */
  static SearchKey pin(SearchKey k, Selected s, List<Long> saved) {
    return switch (k) {
      case SearchKey.And a -> new SearchKey.And(a.keys().stream().map(x -> pin(x, s, saved)).toList());
      case SearchKey.Or o -> new SearchKey.Or(pin(o.a(), s, saved), pin(o.b(), s, saved));
      case SearchKey.Not n -> new SearchKey.Not(pin(n.key(), s, saved));
      case SearchKey.Seqs q -> new SearchKey.Uids(q.set().saved() ? savedSet(s, saved) : uidSet(s, q.set()));
      case SearchKey.Uids u when u.set().saved() -> new SearchKey.Uids(savedSet(s, saved));
      default -> k;
    };
  }

  private static SeqSet savedSet(Selected s, List<Long> saved) {
    List<Integer> msns = new ArrayList<>();
    for (long u : saved) {
      int m = s.msn(u);
      if (m > 0) {
        msns.add(m);
      }
    }
    msns.sort(null);
    return runs(s, msns);
  }

  private static SeqSet uidSet(Selected s, SeqSet set) {
    List<Integer> msns = new ArrayList<>();
    int n = s.size();
    for (int i = 1; i <= n; i++) {
      if (set.contains(i, n)) {
        msns.add(i);
      }
    }
    return runs(s, msns);
  }

  /**
   * The UIDs of these ascending sequence numbers as ranges: a run of adjacent numbers is one range from its first
   * UID to its last (no other message has a UID in between, and UIDs are never reused), so "1:*" stays one range.
   */
  private static SeqSet runs(Selected s, List<Integer> msns) {
    List<long[]> ranges = new ArrayList<>();
    int i = 0;
    while (i < msns.size()) {
      int j = i;
      while (j + 1 < msns.size() && msns.get(j + 1) == msns.get(j) + 1) {
        j++;
      }
      ranges.add(new long[] {s.uid(msns.get(i) - 1), s.uid(msns.get(j) - 1)});
      i = j + 1;
    }
    if (ranges.isEmpty()) {
      ranges.add(new long[] {0, 0}); // UID 0 is never a message's
    }
    return new SeqSet(ranges, false);
  }
}
