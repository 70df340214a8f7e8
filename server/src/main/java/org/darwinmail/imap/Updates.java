package org.darwinmail.imap;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import org.darwinmail.store.MailStore;
import org.darwinmail.store.MailboxEvents;
import org.darwinmail.store.MessageRow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The untagged updates of the selected mailbox, in one place: EXPUNGE (or VANISHED), FETCH FLAGS, FLAGS and
 * PERMANENTFLAGS, EXISTS and RECENT (RFC 3501 §7.3, §7.4; RFC 7162 §3.2.10), and the \Recent mark they depend on.
 */
final class Updates {
  private static final Logger log = LoggerFactory.getLogger(Updates.class);

  private final MailStore mail;
  private final SessionState st;
  private final ReplyWriter out;
  /**
   * Told of the messages new to the view right after their EXISTS (NOTIFY's MessageNew fetch-att, RFC 5465 §5.2), or
   * null.
   */
  java.util.function.BiConsumer<Selected, List<MessageRow>> onNew;

  Updates(MailStore mail, SessionState st, ReplyWriter out) {
    this.mail = mail;
    this.st = st;
    this.out = out;
  }

  /**
   * Sends what changed in the selected mailbox since the last look: EXPUNGE (or VANISHED with QRESYNC) when
   * {@code expungeOk}, FETCH FLAGS for flag changes, EXISTS for new messages (RFC 3501 §7.4.1, §5.2).
   */
  void send(boolean expungeOk) {
    Selected s = st.selected;
    if (s == null) {
      return;
    }
    if (s.dirty.getAndSet(false)) {
      long id = s.mailbox.id();
      var events = mail.events();
      // From the store's in-memory log of recent changes; from the database when it does not reach back so far.
      MailboxEvents.Delta d = events.since(id, s.syncedModseq);
      if (d == null) {
        long epoch = events.epoch(id);
        long highest = mail.highestModseq(id);
        events.establish(id, highest, epoch);
        d = highest == s.syncedModseq ? new MailboxEvents.Delta(highest, List.of(), List.of())
            : new MailboxEvents.Delta(highest, mail.changedSince(id, s.syncedModseq),
                mail.expungedSince(id, s.syncedModseq));
      }
      long highest = d.highest();
      if (highest != s.syncedModseq) {
        List<MessageRow> changed = d.changed();
        announceKeywords(s, changed);
        for (long uid : d.expunged()) {
          if (s.contains(uid)) {
            s.gone.add(uid);
          }
        }
        s.syncedModseq = Math.max(s.syncedModseq, highest);
        if (expungeOk) {
          expunges(s);
        }
        long max = s.maxUid();
        int added = 0;
        long newest = 0;
        for (MessageRow r : changed) {
          if (r.uid() > max && !s.contains(r.uid())) {
            newest = Math.max(newest, r.uid());
          }
        }
        long mark = newest > 0 ? recentMark(s, newest) : Long.MAX_VALUE;
        List<MessageRow> fresh = new ArrayList<>();
        for (MessageRow r : changed) {
          MessageRow old = s.get(r.uid());
          if (old != null) {
            if (r.modseq() > old.modseq() && !s.gone.contains(r.uid())) {
              s.update(r);
              if (r.flags() != old.flags() || !r.keywords().equals(old.keywords())) {
                flags(s, r);
              }
            }
          } else if (r.uid() > max) {
            s.add(r);
            if (r.uid() > mark) {
              s.markRecent(r.uid());
            }
            fresh.add(r);
            added++;
          }
        }
        if (added > 0) {
          out.send("* " + s.size() + " EXISTS");
          if (!st.rev2) {
            out.send("* " + s.recentCount() + " RECENT");
          }
          if (onNew != null) {
            onNew.accept(s, fresh);
          }
        }
      } else if (expungeOk) {
        expunges(s);
      }
    } else if (expungeOk && !s.gone.isEmpty()) {
      expunges(s);
    }
    if (st.contexts != null) {
      st.contexts.refresh(s, out, false); // RFC 5267 §4.3.3: ADDTO after the EXISTS of new messages
    }
  }

  /** Announces and drops the messages expunged from the view (highest number first, so numbers stay valid). */
  void expunges(Selected s) {
    if (s.gone.isEmpty()) {
      return;
    }
    if (st.contexts != null) {
      st.contexts.refresh(s, out, false); // RFC 5267 §4.3.4: REMOVEFROM before the EXPUNGE
    }
    if (st.qresync || st.uidOnly) { // RFC 9586 §3: VANISHED instead of EXPUNGE under UIDONLY too
      List<Long> g = new ArrayList<>(new TreeSet<>(s.gone));
      out.send("* VANISHED " + SeqSet.format(g)); // RFC 7162 §3.2.10
    } else {
      // highest number first: each EXPUNGE's number is the message's number after the ones sent before it
      for (int i = s.size() - 1; i >= 0; i--) {
        if (s.gone.contains(s.uid(i))) {
          out.send("* " + (i + 1) + " EXPUNGE");
        }
      }
    }
    s.dropGone();
  }

  /** A message's new flags (RFC 3501 §7.4.2), with MODSEQ under CONDSTORE (RFC 7162 §3.1.4). */
  private void flags(Selected s, MessageRow r) {
    int msn = s.msn(r.uid());
    if (msn == 0) {
      return;
    }
    out.send(st.fetchHead(s, r.uid()) + "UID " + r.uid() + " FLAGS (" + FlagNames.of(s, r) + ")"
        + (st.condstore ? " MODSEQ (" + r.modseq() + ")" : "") + ")");
  }

  /** FLAGS and PERMANENTFLAGS of the view (RFC 3501 §7.2.6, §7.1). */
  void flagLists(Selected s) {
    out.send("* FLAGS (" + FlagNames.list(s.keywords, false) + ")");
    out.send("* OK [PERMANENTFLAGS (" + (s.readOnly ? "" : FlagNames.list(s.keywords, true)) + ")] Flags permitted");
  }

  /**
   * A keyword the session was not told of is announced before a response uses it: FLAGS and PERMANENTFLAGS again
   * (RFC 3501 §7.2.6 "the FLAGS response ... MUST be sent when the set of flags changes"; RFC 9051 §7.3.5).
   */
  void announceKeywords(Selected s, Collection<MessageRow> rows) {
    boolean fresh = false;
    for (MessageRow r : rows) {
      if (!s.gone.contains(r.uid())) {
        for (String k : r.keywords()) {
          fresh |= s.keywords.add(k);
        }
      }
    }
    if (fresh) {
      flagLists(s);
    }
  }

  /**
   * The \Recent mark for messages of the view up to {@code upTo}: those above it are recent in this session. A
   * read-write session takes them (no other session will see them recent); a read-only one leaves them for the next.
   * When the mark cannot be moved (the database is read-only: a full disk), nothing is recent rather than failing.
   */
  long recentMark(Selected s, long upTo) {
    if (st.rev2) {
      return Long.MAX_VALUE; // IMAP4rev2 has no \Recent (RFC 9051 Appendix E): nothing shown, nothing taken
    }
    try {
      return s.readOnly ? mail.recentUid(s.mailbox.id()) : mail.claimRecent(s.mailbox.id(), upTo);
    } catch (RuntimeException e) {
      log.debug("[{}] \\Recent mark not moved: {}", out.id(), e.toString());
      return upTo;
    }
  }

  /**
   * A CONDSTORE enabling command other than SELECT/EXAMINE/ENABLE (FETCH MODSEQ or CHANGEDSINCE, SEARCH MODSEQ, STORE
   * UNCHANGEDSINCE; RFC 7162 §3.1): from now on every untagged FETCH carries MODSEQ, and when it turns CONDSTORE on
   * with a mailbox selected the client learns the mailbox's HIGHESTMODSEQ first (as Dovecot does).
   */
  void enableCondstore() {
    if (st.condstore) {
      return;
    }
    st.condstore = true;
    if (st.selected != null) {
      out.send("* OK [HIGHESTMODSEQ " + st.selected.syncedModseq + "] Highest");
    }
  }
}
