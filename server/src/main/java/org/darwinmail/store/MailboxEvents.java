package org.darwinmail.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;

/**
 * Tells sessions that a mailbox changed (new message, flags, expunge), so that IMAP IDLE and other open sessions
 * learn of it at once, and keeps the recent changes of each watched mailbox in memory, so that they catch up
 * without reading the database ({@link #since}). Listeners must not block: they note the change and return.
 *
 * <p>The log is exact or silent: modification sequences of a mailbox are consecutive (each one taken is committed
 * with its change, {@code MailStore.advance}), so the log knows it holds every change up to {@code complete} when
 * it holds every number up to there. A session asks for the changes after its own modseq and gets them, or null
 * (the log does not reach back that far, or has not learnt where it starts): then it reads the database.
 */
public final class MailboxEvents {
  /** Changes kept per mailbox; older ones are read from the database by whoever still needs them. */
  static final int KEEP = 2000;

  /** The changes after a modseq: new or changed rows (latest version, by UID), expunged UIDs, the modseq reached. */
  public record Delta(long highest, List<MessageRow> changed, List<Long> expunged) {}

  private record Change(List<MessageRow> rows, List<Long> expunged) {}

  /** One watched mailbox: its listeners and its change log (guarded by itself). */
  private static final class Watch {
    final Set<LongConsumer> listeners = ConcurrentHashMap.newKeySet();
    /**
     * Listeners that read the log (a selected mailbox: {@link #subscribe}); with none (only {@link #watch}ers, IMAP
     * NOTIFY's other mailboxes) nothing is logged, so a watched mailbox costs no memory per change.
     */
    int logged;
    /** The highest modseq heard of while nothing is logged, for the cluster's safety net ({@link #watched}). */
    long heard;
    /** Changes by modseq; every modseq taken has an entry once its transaction committed (maybe empty). */
    final TreeMap<Long, Change> log = new TreeMap<>();
    /** Every change after base up to complete is in the log; base unknown (MAX_VALUE) until established. */
    long base = Long.MAX_VALUE;
    long complete;
    /** Counts resets of the log: an establish from a read made before a reset is ignored. */
    long epoch;

    /** Forgets the log: the next reader reads the database and establishes it again. */
    void reset() {
      log.clear();
      base = Long.MAX_VALUE;
      epoch++;
    }

    void advance() {
      while (log.containsKey(complete + 1)) {
        complete++;
      }
      // Bounded: the oldest complete entries go (base moves up); a gap that never fills resets the log.
      while (log.size() > KEEP && log.firstKey() <= complete) {
        base = log.pollFirstEntry().getKey();
      }
      if (log.size() > 2 * KEEP) {
        reset();
      }
    }
  }

  private final Map<Long, Watch> watches = new ConcurrentHashMap<>();

  /** Registers {@code listener} for changes of {@code mailboxId}, the change log kept; close the handle to stop. */
  public AutoCloseable subscribe(long mailboxId, LongConsumer listener) {
    return register(mailboxId, listener, true);
  }

  /**
   * Registers {@code listener} for changes of {@code mailboxId} without reading the log (IMAP NOTIFY of a mailbox
   * that is not selected: it reads the mailbox's status when told); close the handle to stop. The same path as
   * {@link #subscribe}: local changes, other nodes' ({@link #changedElsewhere}) and the safety net reach it.
   */
  public AutoCloseable watch(long mailboxId, LongConsumer listener) {
    return register(mailboxId, listener, false);
  }

  private AutoCloseable register(long mailboxId, LongConsumer listener, boolean log) {
    // Added and removed inside the map's atomic compute, so a subscription never lands in a watch being dropped.
    watches.compute(mailboxId, (k, w) -> {
      Watch x = w == null ? new Watch() : w;
      x.listeners.add(listener);
      if (log) {
        synchronized (x) {
          x.logged++;
        }
      }
      return x;
    });
    return () -> watches.computeIfPresent(mailboxId, (k, w) -> {
      if (w.listeners.remove(listener) && log) {
        synchronized (w) {
          if (--w.logged == 0) {
            w.reset(); // nobody reads it any more: its memory goes
          }
        }
      }
      return w.listeners.isEmpty() ? null : w;
    });
  }

  /** The log's epoch: read it before reading the mailbox's highest modseq for {@link #establish}. */
  public long epoch(long mailboxId) {
    Watch w = watches.get(mailboxId);
    if (w == null) {
      return -1;
    }
    synchronized (w) {
      return w.epoch;
    }
  }

  /**
   * Tells the log where it starts, if it does not know: {@code highest} is the mailbox's highest modseq read from the
   * database by a subscriber after it read {@code epoch}, so every later change is published to the log.
   */
  public void establish(long mailboxId, long highest, long epoch) {
    Watch w = watches.get(mailboxId);
    if (w == null) {
      return;
    }
    synchronized (w) {
      if (w.base != Long.MAX_VALUE || w.epoch != epoch) {
        return;
      }
      w.log.headMap(highest, true).clear();
      w.base = highest;
      w.complete = highest;
      w.advance();
    }
  }

  /** The changes after {@code modseq}, or null when the log cannot tell them all (read the database). */
  public Delta since(long mailboxId, long modseq) {
    Watch w = watches.get(mailboxId);
    if (w == null) {
      return null;
    }
    synchronized (w) {
      if (w.base == Long.MAX_VALUE || modseq < w.base) {
        return null;
      }
      // The latest version of each row, none of those expunged since (as the database would answer).
      Map<Long, MessageRow> changed = new TreeMap<>();
      List<Long> expunged = new ArrayList<>();
      if (modseq < w.complete) {
        for (Change c : w.log.subMap(modseq, false, w.complete, true).values()) {
          c.rows().forEach(r -> changed.put(r.uid(), r));
          expunged.addAll(c.expunged());
        }
      }
      expunged.forEach(changed::remove);
      return new Delta(Math.max(modseq, w.complete), List.copyOf(changed.values()), expunged);
    }
  }

  /**
   * A committed change of {@code mailboxId} that took the modseqs {@code first..last}: the rows added or changed
   * (each with its modseq) and the UIDs expunged (at {@code last}). Logs it, then calls the listeners.
   */
  void committed(long mailboxId, long first, long last, List<MessageRow> rows, List<Long> expunged) {
    Watch w = watches.get(mailboxId);
    if (w == null) {
      return;
    }
    synchronized (w) {
      w.heard = Math.max(w.heard, last);
      if (w.logged == 0) {
        w.reset();
        notify(w, mailboxId);
        return;
      }
      for (long m = first; m <= last; m++) {
        if (m > w.complete || w.base == Long.MAX_VALUE) {
          w.log.putIfAbsent(m, new Change(new ArrayList<>(), new ArrayList<>()));
        }
      }
      for (MessageRow r : rows) {
        Change c = w.log.get(r.modseq());
        if (c != null) {
          c.rows().add(r);
        }
      }
      Change c = w.log.get(last);
      if (c != null) {
        c.expunged().addAll(expunged);
      }
      w.advance();
    }
    notify(w, mailboxId);
  }

  /**
   * Another node changed the mailbox, reaching {@code modseq} (0: not known, as for a deleted mailbox); heard on
   * the cluster event channel ({@link ClusterEvents}). The log cannot describe that change (it holds no rows of it),
   * so unless it already reaches past it (it was established from a database read that saw it) it is reset: the
   * next reader reads the database and establishes it again. Then the listeners are called.
   */
  public void changedElsewhere(long mailboxId, long modseq) {
    Watch w = watches.get(mailboxId);
    if (w == null) {
      return;
    }
    synchronized (w) {
      w.heard = Math.max(w.heard, modseq);
      if (w.base == Long.MAX_VALUE || modseq <= 0 || modseq > w.complete) {
        w.reset();
      }
    }
    notify(w, mailboxId);
  }

  /**
   * The watched mailboxes, each with the modseq up to which its log is complete (-1: not established), for the
   * cluster's safety net ({@link MailStore#recheck}): a mailbox whose modseq in the database is higher changed
   * elsewhere unheard.
   */
  public Map<Long, Long> watched() {
    Map<Long, Long> out = new java.util.HashMap<>();
    for (Map.Entry<Long, Watch> e : watches.entrySet()) {
      Watch w = e.getValue();
      synchronized (w) {
        long known = w.base != Long.MAX_VALUE ? w.complete : w.logged == 0 && w.heard > 0 ? w.heard : -1L;
        out.put(e.getKey(), known);
      }
    }
    return out;
  }

  /** Calls every listener of {@code mailboxId} with the mailbox id (a change the log does not describe). */
  public void changed(long mailboxId) {
    Watch w = watches.get(mailboxId);
    if (w != null) {
      notify(w, mailboxId);
    }
  }

  private final Set<Runnable> mailboxSets = ConcurrentHashMap.newKeySet();

  /**
   * Registers {@code listener} for changes of the set of mailboxes (created, renamed, deleted, subscribed or not; of
   * any account, here or on another node: {@link MailStore#mailboxesChanged}); close the handle to stop. It must not
   * block. IMAP NOTIFY's MailboxName and SubscriptionChange events, and its watched set, come from it.
   */
  public AutoCloseable subscribeMailboxes(Runnable listener) {
    mailboxSets.add(listener);
    return () -> mailboxSets.remove(listener);
  }

  /** Tells the {@link #subscribeMailboxes} listeners: mailboxes were created, renamed, deleted or (un)subscribed. */
  public void mailboxesChanged() {
    for (Runnable l : mailboxSets) {
      l.run();
    }
  }

  private static void notify(Watch w, long mailboxId) {
    for (LongConsumer l : w.listeners) {
      l.accept(mailboxId);
    }
  }
}
