package org.darwinmail.imap;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.darwinmail.imap.ImapCommand.Notify;
import org.darwinmail.imap.ImapCommand.NotifyFilter;
import org.darwinmail.imap.ImapCommand.NotifyGroup;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * IMAP NOTIFY (RFC 5465): what a session asked to hear of, and the unsolicited responses that tell it, sent between
 * commands (RFC 5465 §5: unsolicited, not only in IDLE) and during IDLE. The events come on the path IDLE uses: the
 * store's {@link org.darwinmail.store.MailboxEvents} (a watch per mailbox, no change log kept for it; another node's
 * changes arrive there through the cluster event channel, and its safety net rechecks watched mailboxes), and its
 * listeners of the set of mailboxes (created, renamed, deleted, subscribed), which the channel also carries.
 *
 * <p>Listeners (any thread) only note what changed and wake the session ({@code wake}); {@link #deliver}, under the
 * session's lock, reads the store and writes. Bounded: at most {@link #MAX_WATCHED} mailboxes watched (NOTIFY SET is
 * refused NO [NOTIFICATIONOVERFLOW] past it, §3.1) and at most {@link #MAX_QUEUED} events heard and not yet
 * delivered (a client not reading, or a command not finishing): then "* OK [NOTIFICATIONOVERFLOW]" and NOTIFY NONE
 * (§5.8).
 */
final class Notifications {
  private static final Logger log = LoggerFactory.getLogger(Notifications.class);
  /** Mailboxes one session may watch for message events. */
  static final int MAX_WATCHED = 1000;
  /** Events heard and not yet delivered before the session gives up (NOTIFICATIONOVERFLOW). */
  static final int MAX_QUEUED = 1000;
  /** The events supported here (RFC 5465 §3.1: a NO [BADEVENT] lists them). */
  static final List<String> SUPPORTED = List.of("MessageNew", "MessageExpunge", "FlagChange", "MailboxName",
      "SubscriptionChange");

  private final ImapContext ctx;
  private final SessionState st;
  private final ReplyWriter out;
  private final Updates updates;
  private final SelectedCommands sel;
  private final Runnable wake;

  // ---- the registration; under the session's lock ----
  /** The event groups of the last NOTIFY SET, in order (the first that matches a mailbox applies); null: none. */
  private List<NotifyGroup> groups;
  /** The selected / selected-delayed group, or null. */
  private volatile NotifyGroup selectedGroup;
  /** The mailboxes watched for message events, by id. */
  private final Map<Long, Watched> watched = new HashMap<>();
  /** The account's mailboxes when last looked at (MailboxName, SubscriptionChange, the watched set), or null. */
  private Map<Long, Mailbox> known;
  private AutoCloseable mailboxSets;

  // ---- noted by listeners on any thread ----
  private final Set<Long> pending = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean mailboxesPending = new AtomicBoolean();
  private final AtomicInteger queued = new AtomicInteger();
  private volatile boolean overflow;

  /** A watched mailbox: its group, its subscription, and what the client was last told (null: nothing yet). */
  private static final class Watched {
    Mailbox box;
    final NotifyGroup group;
    AutoCloseable subscription;
    long modseq;
    String status;

    Watched(Mailbox box, NotifyGroup group) {
      this.box = box;
      this.group = group;
    }
  }

  Notifications(ImapContext ctx, SessionState st, ReplyWriter out, Updates updates, SelectedCommands sel,
      Runnable wake) {
    this.ctx = ctx;
    this.st = st;
    this.out = out;
    this.updates = updates;
    this.sel = sel;
    this.wake = wake;
  }

  // ---- NOTIFY ----

  /** RFC 5465 §3: NOTIFY SET (the new registration replaces the old one) and NOTIFY NONE. */
  void set(Notify x) {
    if (x.groups().isEmpty()) {
      clear();
      out.ok(x.tag(), "NOTIFY completed");
      return;
    }
    // §3.1: an event the server does not support is refused with a tagged NO [BADEVENT], which lists those it
    // supports (§8: unsupported-events-code = "BADEVENT" SP "(" event *(SP event) ")")
    for (NotifyGroup g : x.groups()) {
      if (g.events() != null && !SUPPORTED.containsAll(g.events())) {
        throw ImapException.no("BADEVENT (" + String.join(" ", SUPPORTED) + ")", "Unsupported NOTIFY event");
      }
    }
    List<Mailbox> boxes = ctx.mail().mailboxes(st.account.id());
    Map<Long, NotifyGroup> want = matches(x.groups(), boxes);
    if (want.size() > MAX_WATCHED) {
      // §3.1: a server may refuse a NOTIFY that would cost it too much with NO [NOTIFICATIONOVERFLOW]
      throw ImapException.no("NOTIFICATIONOVERFLOW", "More than " + MAX_WATCHED + " mailboxes to watch");
    }
    clear();
    groups = x.groups();
    selectedGroup = groups.stream().filter(NotifyGroup::selected).findFirst().orElse(null);
    updates.onNew = this::fetchNew;
    known = byId(boxes);
    mailboxSets = ctx.mail().events().subscribeMailboxes(this::mailboxesChanged);
    Selected s = st.selected;
    for (Mailbox m : boxes) {
      NotifyGroup g = want.get(m.id());
      if (g == null) {
        continue;
      }
      Watched w = watch(m, g);
      // §3.1: with the STATUS indicator, a STATUS for each mailbox with message events before NOTIFY's tagged OK
      // (not for the selected mailbox, whose changes are told as EXISTS, EXPUNGE and FETCH)
      boolean isSelected = s != null && s.mailbox.id() == m.id();
      w.status = status(m, g);
      if (x.status() && !isSelected) {
        statusLine(w);
      }
    }
    out.ok(x.tag(), "NOTIFY completed");
  }

  /** Forgets the registration (NOTIFY NONE, a new NOTIFY SET, the end of the session): nothing is watched. */
  void clear() {
    for (Watched w : watched.values()) {
      closeQuietly(w.subscription);
    }
    watched.clear();
    closeQuietly(mailboxSets);
    mailboxSets = null;
    groups = null;
    selectedGroup = null;
    updates.onNew = null;
    known = null;
    pending.clear();
    mailboxesPending.set(false);
    queued.set(0);
    overflow = false;
  }

  /** Whether changes of the selected mailbox are told as they happen (§6: selected, selected-delayed). */
  boolean pushesSelected() {
    NotifyGroup g = selectedGroup;
    return g != null && g.events() != null;
  }

  /** Whether anything waits to be delivered. */
  boolean hasPending() {
    return overflow || !pending.isEmpty() || mailboxesPending.get();
  }

  // ---- listeners (any thread: note and wake, never block) ----

  private void changed(long mailboxId) {
    pending.add(mailboxId);
    heard();
  }

  private void mailboxesChanged() {
    mailboxesPending.set(true);
    heard();
  }

  private void heard() {
    if (queued.incrementAndGet() > MAX_QUEUED) {
      overflow = true;
    }
    wake.run();
  }

  // ---- delivery (under the session's lock, between commands or during IDLE) ----

  /**
   * Sends what was heard: the selected mailbox's changes when it is pushed ({@code expungeOk}: an EXPUNGE may go now,
   * as with selected, or in IDLE), STATUS for other watched mailboxes whose status changed, LIST for mailboxes
   * created, renamed, deleted or (un)subscribed; or NOTIFICATIONOVERFLOW when too much was heard.
   */
  void deliver(boolean idle) {
    if (groups == null) {
      return;
    }
    if (overflow) {
      // §5.8: the client is told with an untagged OK [NOTIFICATIONOVERFLOW], and the session goes on as after
      // NOTIFY NONE
      clear();
      out.send("* OK [NOTIFICATIONOVERFLOW] Too many events; NOTIFY is off, set it again");
      log.info("[{}] NOTIFY overflow: more than {} events not delivered", out.id(), MAX_QUEUED);
      return;
    }
    queued.set(0);
    if (mailboxesPending.getAndSet(false)) {
      mailboxes();
      if (groups == null) {
        return; // overflowed
      }
    }
    Selected s = st.selected;
    if (s != null && pushesSelected()) {
      pushSelected(s, idle || selectedGroup.filter() == NotifyFilter.SELECTED);
    }
    for (Long id : List.copyOf(pending)) {
      pending.remove(id);
      Watched w = watched.get(id);
      if (w == null || s != null && s.mailbox.id() == id) {
        continue; // not watched (any more), or selected: its changes are told as EXISTS/EXPUNGE/FETCH, never STATUS
      }
      var now = ctx.mail().mailbox(id);
      if (now.isEmpty()) {
        continue; // deleted: told by MailboxName, if asked for, when the set of mailboxes is read
      }
      Mailbox m = now.get();
      if (m.highestModseq() == w.modseq && w.status != null) {
        continue;
      }
      w.box = m;
      String status = status(m, w.group);
      if (!status.equals(w.status)) {
        w.status = status;
        statusLine(w);
      }
    }
  }

  /**
   * The selected mailbox's changes (RFC 5465 §6 selected and selected-delayed, §5.2, §5.3): EXISTS, FETCH FLAGS,
   * EXPUNGE when {@code expungeOk} (with selected-delayed they wait for a command that may report them).
   * MessageNew's fetch-att follows each EXISTS, here or in a command ({@link Updates#onNew}).
   */
  private void pushSelected(Selected s, boolean expungeOk) {
    updates.send(expungeOk);
  }

  /** MessageNew's fetch-att for messages new to the selected view (RFC 5465 §5.2), after their EXISTS. */
  private void fetchNew(Selected s, List<MessageRow> fresh) {
    NotifyGroup g = selectedGroup;
    if (g != null && g.events() != null && !g.newItems().isEmpty() && !fresh.isEmpty()) {
      sel.fetchLines(s, fresh, g.newItems());
    }
  }

  // ---- the set of mailboxes (MailboxName, SubscriptionChange; what is watched) ----

  /**
   * Reads the account's mailboxes again and tells what changed: RFC 5465 §5.4 MailboxName as LIST (a new name; a
   * deleted one \NonExistent; a renamed one with its OLDNAME, RFC 5465 §5.4 and RFC 5258 mbox-list-extended), §5.5
   * SubscriptionChange as LIST with or without \Subscribed. Then the watched set follows the new names.
   */
  private void mailboxes() {
    List<Mailbox> boxes = ctx.mail().mailboxes(st.account.id());
    Map<Long, Mailbox> now = byId(boxes);
    Map<Long, Mailbox> before = known == null ? Map.of() : known;
    for (Mailbox m : now.values()) {
      Mailbox old = before.get(m.id());
      if (old == null) {
        if (wants(m, "MailboxName")) {
          list(m, m.subscribed() && wants(m, "SubscriptionChange"), null, false);
        }
      } else if (!old.name().equals(m.name())) {
        if (wants(m, "MailboxName") || wants(old, "MailboxName")) {
          list(m, m.subscribed() && wants(m, "SubscriptionChange"), old.name(), false);
        }
      } else if (old.subscribed() != m.subscribed()
          && (wants(m, "SubscriptionChange") || wants(old, "SubscriptionChange"))) {
        list(m, m.subscribed(), null, false);
      }
    }
    for (Mailbox old : before.values()) {
      if (!now.containsKey(old.id()) && wants(old, "MailboxName")) {
        list(old, false, null, true);
      }
    }
    known = now;
    // the watched set: mailboxes that now match (a new one under "personal"), without those gone or renamed away
    Map<Long, NotifyGroup> want = matches(groups, boxes);
    if (want.size() > MAX_WATCHED) {
      overflow = true;
      deliver(false);
      return;
    }
    for (var it = watched.entrySet().iterator(); it.hasNext();) {
      var e = it.next();
      if (want.get(e.getKey()) != e.getValue().group) {
        closeQuietly(e.getValue().subscription);
        it.remove();
      }
    }
    for (Mailbox m : boxes) {
      NotifyGroup g = want.get(m.id());
      if (g != null) {
        Watched w = watched.get(m.id());
        if (w == null) {
          w = watch(m, g);
          w.status = status(m, g); // its counts from now on; a new name is told by MailboxName
        }
        w.box = m;
      }
    }
  }

  /** One LIST response of a mailbox event (RFC 5465 §5.4 with OLDNAME, §5.5; \NonExistent for a deletion). */
  private void list(Mailbox m, boolean subscribed, String oldName, boolean deleted) {
    List<String> attrs = new ArrayList<>();
    if (deleted) {
      attrs.add("\\NonExistent");
    }
    if (subscribed) {
      attrs.add("\\Subscribed");
    }
    Resp r = new Resp(st.utf8).raw("* LIST (" + String.join(" ", attrs) + ") \"/\" ")
        .string(MailboxNames.toWire(m.name(), st.utf8));
    if (oldName != null) {
      r.raw(" (\"OLDNAME\" (").string(MailboxNames.toWire(oldName, st.utf8)).raw("))");
    }
    out.send(r.bytes());
  }

  // ---- matching ----

  /** The group that applies to each mailbox with message events (the first that matches; NONE matches too). */
  private Map<Long, NotifyGroup> matches(List<NotifyGroup> gs, List<Mailbox> boxes) {
    Map<Long, NotifyGroup> out = new LinkedHashMap<>();
    for (Mailbox m : boxes) {
      NotifyGroup g = group(gs, m.name(), m.subscribed());
      if (g != null && g.events() != null && g.events().contains("MessageNew")) {
        out.put(m.id(), g);
      }
    }
    return out;
  }

  /** Whether the group applying to a mailbox asks for {@code event}. */
  private boolean wants(Mailbox m, String event) {
    NotifyGroup g = group(groups, m.name(), m.subscribed());
    return g != null && g.events() != null && g.events().contains(event);
  }

  /** The first non-selected group that covers a mailbox (RFC 5465 §6), or null. */
  private static NotifyGroup group(List<NotifyGroup> gs, String name, boolean subscribed) {
    for (NotifyGroup g : gs) {
      boolean match = switch (g.filter()) {
        case SELECTED, SELECTED_DELAYED -> false;
        // inboxes: where mail is delivered; here only INBOX (no rule files a message elsewhere)
        case INBOXES -> name.equals(Mailbox.INBOX);
        case PERSONAL -> true; // one personal namespace (NAMESPACE answers "" "/")
        case SUBSCRIBED -> subscribed;
        // subtree: the named mailboxes and all below them
        case SUBTREE -> g.mailboxes().stream().anyMatch(b -> name.equals(canonical(b))
            || name.startsWith(canonical(b) + Mailbox.DELIMITER));
        case MAILBOXES -> g.mailboxes().stream().anyMatch(b -> name.equals(canonical(b))); // no wildcards
      };
      if (match) {
        return g;
      }
    }
    return null;
  }

  private static String canonical(String name) {
    return org.darwinmail.store.MailStore.canonicalName(name);
  }

  // ---- STATUS ----

  private Watched watch(Mailbox m, NotifyGroup g) {
    Watched w = new Watched(m, g);
    w.subscription = ctx.mail().events().watch(m.id(), this::changed);
    watched.put(m.id(), w);
    return w;
  }

  /**
   * The STATUS attributes told for a mailbox (RFC 5465 §5.2, §5.3: MessageNew and MessageExpunge as MESSAGES, UIDNEXT
   * and UIDVALIDITY; §5.1 FlagChange as UNSEEN, and HIGHESTMODSEQ once CONDSTORE is on).
   */
  private String status(Mailbox m, NotifyGroup g) {
    MailboxCounts n = MailboxCounts.of(ctx.mail(), m.id(), Long.MAX_VALUE);
    Watched w = watched.get(m.id());
    if (w != null) {
      w.modseq = m.highestModseq();
    }
    StringBuilder sb = new StringBuilder("MESSAGES ").append(n.messages()).append(" UIDNEXT ").append(m.uidNext())
        .append(" UIDVALIDITY ").append(m.uidValidity());
    if (g.events().contains("FlagChange")) {
      sb.append(" UNSEEN ").append(n.unseen());
      if (st.condstore) {
        sb.append(" HIGHESTMODSEQ ").append(m.highestModseq());
      }
    }
    return sb.toString();
  }

  private void statusLine(Watched w) {
    out.send(new Resp(st.utf8).raw("* STATUS ").string(MailboxNames.toWire(w.box.name(), st.utf8))
        .raw(" (" + w.status + ")").bytes());
  }

  private static Map<Long, Mailbox> byId(List<Mailbox> boxes) {
    Map<Long, Mailbox> m = new HashMap<>();
    boxes.forEach(b -> m.put(b.id(), b));
    return m;
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      // nothing to do
    }
  }
}
