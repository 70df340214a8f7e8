package org.darwinmail.imap;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.darwinmail.imap.ImapCommand.*;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRepository;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.RefusedException;

/**
 * Commands of the authenticated state that work on mailboxes by name (RFC 3501 §6.3), on the session's state and
 * output.
 */
final class MailboxCommands {
  private static final Set<String> USES = Set.of("All", "Archive", "Drafts", "Flagged", "Junk", "Sent", "Trash");

  private final ImapContext ctx;
  private final SessionState st;
  private final ReplyWriter writer;
  private final Updates updates;

  MailboxCommands(ImapContext ctx, SessionState st, ReplyWriter writer, Updates updates) {
    this.ctx = ctx;
    this.st = st;
    this.writer = writer;
    this.updates = updates;
  }

  private Mailbox existing(String name) {
    return ctx.mail().mailbox(st.account.id(), name)
        .orElseThrow(() -> ImapException.no("NONEXISTENT", "No such mailbox"));
  }

  private String wire(String name) {
    return MailboxNames.toWire(name, st.utf8);
  }

  /**
   * RFC 3501 §6.3.3, RFC 6154 §3 (USE); missing superior names are created too. RFC 6154 §3: a mailbox that cannot
   * get the use asked for MUST NOT be created (tagged NO), with USEATTR when the use is the reason: one this server
   * does not know, more than one for a mailbox (a mailbox here has at most one), or a use another of the account's
   * mailboxes has already (one mailbox per use, so that a client and delivery agree on which is "the" Sent).
   */
  void create(Create x) {
    String name = org.darwinmail.store.MailStore.canonicalName(x.mailbox());
    MailboxNames.validName(name);
    String use = null;
    if (x.uses().size() > 1) {
      throw ImapException.no("USEATTR", "A mailbox has at most one special use here");
    }
    if (x.uses().size() == 1) {
      String asked = x.uses().get(0);
      String u = asked.substring(1);
      use = USES.stream().filter(k -> k.equalsIgnoreCase(u)).findFirst()
          .orElseThrow(() -> ImapException.no("USEATTR", "Unsupported special use " + asked));
      String wanted = use;
      if (ctx.mail().mailboxes(st.account.id()).stream().anyMatch(m -> wanted.equalsIgnoreCase(m.specialUse()))) {
        throw ImapException.no("USEATTR", "Another mailbox has the special use \\" + use);
      }
    }
    if (ctx.mail().mailbox(st.account.id(), name).isPresent()) {
      throw ImapException.no("ALREADYEXISTS", "Mailbox exists");
    }
    int slash = name.indexOf('/');
    while (slash > 0) {
      String parent = name.substring(0, slash);
      if (ctx.mail().mailbox(st.account.id(), parent).isEmpty()) {
        // made only because a name below it was asked for: not subscribed (only what the user names is)
        Mailbox made = ctx.mail().createMailbox(st.account.id(), parent, null);
        ctx.mail().setSubscribed(made.id(), false);
      }
      slash = name.indexOf('/', slash + 1);
    }
    Mailbox made;
    try {
      made = ctx.mail().createMailbox(st.account.id(), name, use);
    } catch (RefusedException e) {
      throw ImapException.no("ALREADYEXISTS", "Mailbox exists");
    }
    // RFC 8474 §4.1: the new mailbox's MAILBOXID in the tagged OK
    writer.ok(x.tag(), "[MAILBOXID (" + ObjectIds.mailboxId(made) + ")] CREATE completed");
  }

  /** RFC 3501 §6.3.4. */
  void delete(Delete x) {
    Mailbox m = existing(x.mailbox());
    if (m.name().equals(Mailbox.INBOX)) {
      throw ImapException.no("CANNOT", "INBOX cannot be deleted");
    }
    if (st.selected != null && st.selected.mailbox.id() == m.id()) {
      st.deselect();
    }
    ctx.mail().deleteMailbox(m.id());
    writer.ok(x.tag(), "DELETE completed");
  }

  /** RFC 3501 §6.3.5: renaming INBOX moves its messages to the new mailbox and leaves INBOX empty. */
  void rename(Rename x) {
    Mailbox m = existing(x.from());
    String to = org.darwinmail.store.MailStore.canonicalName(x.to());
    MailboxNames.validName(to);
    if (ctx.mail().mailbox(st.account.id(), to).isPresent()) {
      throw ImapException.no("ALREADYEXISTS", "Target mailbox exists");
    }
    if (m.name().equals(Mailbox.INBOX)) {
      Mailbox target = ctx.mail().createMailbox(st.account.id(), to, null);
      List<Long> uids = ctx.mail().messages(m.id()).stream().map(MessageRow::uid).toList();
      ctx.mail().copy(m.id(), uids, target.id());
      ctx.mail().expunge(m.id(), uids);
    } else {
      ctx.mail().renameMailbox(st.account.id(), m.name(), to);
    }
    writer.ok(x.tag(), "RENAME completed");
  }

  /** RFC 3501 §6.3.6 / §6.3.7; a name whose mailbox was deleted can still be unsubscribed. */
  void subscribe(Subscribe x) {
    if (!x.subscribe() && ctx.mail().mailbox(st.account.id(), x.mailbox()).isEmpty()
        && ctx.mail().dropOrphanSubscription(st.account.id(), x.mailbox())) {
      writer.ok(x.tag(), "UNSUBSCRIBE completed");
      return;
    }
    Mailbox m = existing(x.mailbox());
    ctx.mail().setSubscribed(m.id(), x.subscribe());
    writer.ok(x.tag(), (x.subscribe() ? "SUBSCRIBE" : "UNSUBSCRIBE") + " completed");
  }

  /** LIST (RFC 3501 §6.3.8, RFC 5258, RFC 5819, RFC 6154) and LSUB (RFC 3501 §6.3.9). */
  void list(ListMailboxes x) {
    String verb = x.lsub() ? "LSUB" : "LIST";
    // RFC 5258 §3: an unknown selection or return option is BAD, whatever the pattern
    for (String o : x.selection()) {
      if (!Set.of("SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE").contains(o)) {
        throw ImapException.bad("Unknown LIST selection option " + o);
      }
    }
    // RFC 5258 §3.1: "RECURSIVEMATCH ... MUST NOT occur as the only selection option (or only with REMOTE)"
    if (x.selection().contains("RECURSIVEMATCH")
        && x.selection().stream().allMatch(o -> o.equals("RECURSIVEMATCH") || o.equals("REMOTE"))) {
      throw ImapException.bad("RECURSIVEMATCH needs another selection option");
    }
    for (String o : x.returns()) {
      if (!Set.of("SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS").contains(o)) {
        throw ImapException.bad("Unknown LIST return option " + o);
      }
    }
    if (!x.lsub() && x.patterns().size() == 1 && x.patterns().get(0).isEmpty()) {
      // RFC 3501 §6.3.8: an empty pattern asks for the delimiter and the root of the reference
      writer.send("* LIST (\\Noselect) \"/\" \"\"");
      writer.ok(x.tag(), "LIST completed");
      return;
    }
    List<Mailbox> all = ctx.mail().mailboxes(st.account.id());
    Map<String, Mailbox> byName = new TreeMap<>();
    for (Mailbox m : all) {
      byName.put(m.name(), m);
    }
    // Names that exist only as superiors of others are listed \NonExistent (\Noselect in LIST's terms).
    Map<String, Mailbox> names = new TreeMap<>(byName);
    for (String n : byName.keySet()) {
      int i = n.indexOf('/');
      while (i > 0) {
        names.putIfAbsent(n.substring(0, i), null);
        i = n.indexOf('/', i + 1);
      }
    }
    boolean subscribedOnly = x.lsub() || x.selection().contains("SUBSCRIBED");
    // subscribed names whose mailbox is gone: listed when subscriptions are asked for (RFC 5258 §3.1 \NonExistent)
    Set<String> orphans = new java.util.HashSet<>();
    if (subscribedOnly) {
      for (String o : ctx.mail().orphanSubscriptions(st.account.id())) {
        if (!byName.containsKey(o)) {
          orphans.add(o);
          names.putIfAbsent(o, null);
          for (int i = o.indexOf('/'); i > 0; i = o.indexOf('/', i + 1)) {
            names.putIfAbsent(o.substring(0, i), null);
          }
        }
      }
    }
    List<ListPattern> pats = new ArrayList<>();
    for (String p : x.patterns()) {
      String full = x.reference().isEmpty() || p.startsWith("/") ? p : x.reference() + p;
      pats.add(new ListPattern(full));
    }
    boolean specialOnly = x.selection().contains("SPECIAL-USE");
    boolean showSubscribed = x.selection().contains("SUBSCRIBED") || x.returns().contains("SUBSCRIBED");
    boolean extended = !x.selection().isEmpty() || !x.returns().isEmpty();
    boolean recursive = !x.lsub() && x.selection().contains("RECURSIVEMATCH");
    for (var e : names.entrySet()) {
      writer.checkClient();
      String name = e.getKey();
      Mailbox m = e.getValue();
      boolean match = pats.stream().anyMatch(p -> p.matches(name));
      if (!match) {
        continue;
      }
      boolean childInfo = false;
      boolean orphan = orphans.contains(name);
      if (subscribedOnly && (m == null || !m.subscribed()) && !orphan) {
        // RFC 5258 §3.5: with RECURSIVEMATCH, a name whose descendants match the selection is listed with
        // CHILDINFO though it does not itself match
        childInfo = recursive && names.entrySet().stream().anyMatch(d -> d.getKey().startsWith(name + "/")
            && (d.getValue() != null && d.getValue().subscribed() || orphans.contains(d.getKey())));
        if (!childInfo) {
          continue;
        }
      }
      if (specialOnly && (m == null || m.specialUse() == null)) {
        continue;
      }
      // RFC 5819 §2: a STATUS for each selectable mailbox listed, after its LIST; none for one that is not (here a
      // \NonExistent name). A mailbox deleted since the names were read gets no STATUS and is listed as not
      // selectable ("the server may have to buffer the LIST reply"): its STATUS is read before its LIST is sent.
      byte[] status = null;
      if (m != null && !x.statusItems().isEmpty()) {
        Optional<Mailbox> now = ctx.mail().mailbox(m.id());
        if (now.isPresent()) {
          status = statusLine(now.get(), x.statusItems());
        } else {
          m = null;
        }
      }
      List<String> attrs = new ArrayList<>();
      if (m == null) {
        attrs.add(extended ? "\\NonExistent" : "\\Noselect");
      }
      boolean children = names.keySet().stream().anyMatch(n -> n.startsWith(name + "/"));
      if (!x.lsub()) {
        attrs.add(children ? "\\HasChildren" : "\\HasNoChildren");
      }
      if (showSubscribed && (m != null && m.subscribed() || orphan)) {
        attrs.add("\\Subscribed");
      }
      if (m != null && m.specialUse() != null && !x.lsub()) {
        attrs.add("\\" + m.specialUse());
      }
      Resp line = new Resp(st.utf8).raw("* " + verb + " (" + String.join(" ", attrs) + ") \"/\" ")
          .string(wire(name));
      if (childInfo) {
        line.raw(" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
      }
      writer.send(line.bytes());
      if (status != null) {
        writer.send(status);
      }
    }
    writer.ok(x.tag(), verb + " completed");
  }

  /**
   * RFC 3501 §6.3.10, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE, RFC 9051 DELETED, RFC 9208 DELETED-STORAGE, RFC 8474
   * MAILBOXID.
   */
  void status(Status x) {
    Mailbox m = existing(x.mailbox());
    writer.send(statusLine(ctx.mail().mailbox(m.id()).orElse(m), x.items()));
    writer.ok(x.tag(), "STATUS completed");
  }

  /** The untagged STATUS of {@code m} (as read now) with {@code items} in the order asked. */
  private byte[] statusLine(Mailbox m, List<String> items) {
    long mark = items.contains("RECENT") ? ctx.mail().recentUid(m.id()) : Long.MAX_VALUE;
    MailboxCounts n = MailboxCounts.of(ctx.mail(), m.id(), mark);
    List<String> out = new ArrayList<>();
    for (String i : items) {
      if (i.equals("MAILBOXID")) { // RFC 8474 §4.2: status-att-val =/ "MAILBOXID" SP "(" objectid ")"
        out.add("MAILBOXID (" + ObjectIds.mailboxId(m) + ")");
        continue;
      }
      long v = switch (i) {
        case "MESSAGES" -> n.messages();
        case "RECENT" -> n.recent(); // RFC 3501 §6.3.10: not yet taken as \Recent by a session (Updates.recentMark)
        case "UIDNEXT" -> m.uidNext();
        case "UIDVALIDITY" -> m.uidValidity();
        case "UNSEEN" -> n.unseen();
        case "DELETED" -> n.deleted();
        // RFC 9208 §5.1: a server with QUOTA=RES-STORAGE MUST support DELETED-STORAGE; its value (§4.1.4) is the
        // sum of the RFC822.SIZEs of the \Deleted messages, exact here (what quotas count: used_bytes)
        case "DELETED-STORAGE" -> n.deletedSize();
        case "HIGHESTMODSEQ" -> m.highestModseq();
        case "SIZE" -> n.size();
        default -> throw ImapException.bad("Unknown STATUS item");
      };
      out.add(i + " " + v);
    }
    return new Resp(st.utf8).raw("* STATUS ").string(wire(m.name())).raw(" (" + String.join(" ", out) + ")")
        .bytes();
  }

  /**
   * RFC 3501 §6.3.11 with UIDPLUS APPENDUID (RFC 4315 §3: a UID set for several messages), MULTIAPPEND (RFC 3502:
   * all or none), QUOTA (RFC 9208 §4.3.1 OVERQUOTA), APPENDLIMIT.
   */
  void append(Append x) {
    try {
      Mailbox target = ctx.mail().mailbox(st.account.id(), x.mailbox())
          .orElseThrow(() -> ImapException.no("TRYCREATE", "No such mailbox"));
      if (x.messages().size() > 1
          && x.messages().stream().anyMatch(m -> m.message() != null && m.message().size() == 0)) {
        // RFC 3502 §6.3.11: an empty message cancels a MULTIAPPEND ("unsuccessful for any reason (including being
        // cancelled)": nothing is appended)
        throw ImapException.no("CANNOT", "APPEND cancelled by an empty message; nothing appended");
      }
      List<MessageRow> rows = store(target, x.messages());
      updates.send(true);
      writer.ok(x.tag(), "[APPENDUID " + target.uidValidity() + " "
          + SeqSet.format(rows.stream().map(MessageRow::uid).toList()) + "] APPEND completed");
    } catch (RuntimeException e) {
      x.discard();
      throw e;
    }
  }

  /**
   * Stores messages of APPEND or REPLACE in {@code target} in one transaction (all or none), after the checks
   * that refuse them all: \Recent in the flags, the quota, a full disk. The caller discards the literals on failure.
   */
  List<MessageRow> store(Mailbox target, List<AppendMessage> given) {
    // RFC 4469 §5 (CATENATE): each catenated message is built first; a bad URL or a result over the limit refuses
    // the whole command (with MULTIAPPEND too, RFC 4469 §4), and what was built is dropped.
    List<AppendMessage> messages = new ArrayList<>(given.size());
    try {
      for (AppendMessage m : given) {
        messages.add(m.catenate() == null ? m : new AppendMessage(m.flags(), m.date(),
            Catenate.assemble(ctx.mail(), st.account, m.catenate(), ctx.config().imap().maxLiteralSize())));
      }
      return storeAll(target, messages);
    } catch (RuntimeException e) {
      messages.forEach(AppendMessage::discard);
      throw e;
    }
  }

  private List<MessageRow> storeAll(Mailbox target, List<AppendMessage> messages) {
    long total = 0;
    for (AppendMessage m : messages) {
      if (m.flags().stream().anyMatch(f -> f.equalsIgnoreCase("\\Recent"))) {
        throw ImapException.bad("\\Recent cannot be set");
      }
      total += m.message().size();
    }
    long quota = ctx.quotaLimit(st.account);
    if (quota > 0 && ctx.mail().usage(st.account.id()) + total > quota) {
      throw ImapException.no("OVERQUOTA", "Quota exceeded");
    }
    if (ctx.mail().blobs().capacity().full()) {
      throw ImapException.storageFull();
    }
    List<MessageRepository.NewMessage> rows = new ArrayList<>();
    Instant now = Instant.now();
    for (AppendMessage m : messages) {
      BlobRef blob;
      try {
        blob = m.message().commit(ctx.mail().blobs());
      } catch (IOException e) {
        if (ctx.mail().blobs().capacity().recheck()) {
          throw ImapException.storageFull(); // the disk filled meanwhile: its state has its own log line
        }
        throw new org.darwinmail.store.StoreException("cannot store the message", e);
      }
      rows.add(new MessageRepository.NewMessage(target.id(), blob, m.date() != null ? m.date() : now,
          FlagNames.bits(m.flags()), FlagNames.keywords(m.flags())));
    }
    return ctx.mail().appendAll(rows);
  }

  /**
   * RFC 9208 §4.1.3 (QUOTASET): sets the user's own STORAGE limit on the one root "", up to the administrator's
   * (store.Directory.setUserQuota); an empty list removes it (RFC 9208 §4.1.3: "Any previous resource limits for the
   * named quota root are discarded"). The untagged QUOTA then shows the limit in force. Refused with the §4.1.3 NO
   * text: another root, a resource other than STORAGE (§5: only QUOTA=RES-STORAGE is announced), a limit of 0 or
   * above the administrator's.
   */
  void setQuota(SetQuota x) {
    if (!x.root().isEmpty()) {
      throw ImapException.no("NONEXISTENT", "SETQUOTA error: can't set that data (no such quota root)");
    }
    for (String r : x.limits().keySet()) {
      if (!r.equals("STORAGE")) {
        throw ImapException.no(null, "SETQUOTA error: can't set that data (unsupported resource " + r + ")");
      }
    }
    Long kib = x.limits().get("STORAGE");
    long bytes = 0;
    if (kib != null) {
      // RFC 9208 §5.1: STORAGE is counted in units of 1024 octets; 0 here means "no limit", so it is not a limit
      if (kib == 0 || kib > Long.MAX_VALUE / 1024) {
        throw ImapException.no(null, "SETQUOTA error: can't set that data (STORAGE must be 1 to "
            + Long.MAX_VALUE / 1024 + ")");
      }
      bytes = kib * 1024;
    }
    if (!ctx.directory().setUserQuota(st.account.id(), bytes)) {
      long admin = ctx.adminQuota(st.account);
      throw ImapException.no("NOPERM", "SETQUOTA error: can't set that data (above the administrator's limit, STORAGE "
          + admin / 1024 + ")");
    }
    long limit = ctx.quotaLimit(st.account);
    if (limit > 0) {
      writer.send(quotaLine(limit));
    }
    writer.ok(x.tag(), "SETQUOTA completed");
  }

  /** RFC 9208 §4.1.1: the one quota root "" holds the account's storage. */
  void getQuota(GetQuota x) {
    long limit = ctx.quotaLimit(st.account);
    if (!x.root().isEmpty() || limit <= 0) {
      throw ImapException.no("NONEXISTENT", "No such quota root");
    }
    writer.send(quotaLine(limit));
    writer.ok(x.tag(), "GETQUOTA completed");
  }

  /** RFC 9208 §4.1.2. */
  void getQuotaRoot(GetQuotaRoot x) {
    Mailbox m = existing(x.mailbox());
    long limit = ctx.quotaLimit(st.account);
    Resp r = new Resp(st.utf8).raw("* QUOTAROOT ").string(wire(m.name()));
    if (limit > 0) {
      r.raw(" \"\"");
    }
    writer.send(r.bytes());
    if (limit > 0) {
      writer.send(quotaLine(limit));
    }
    writer.ok(x.tag(), "GETQUOTAROOT completed");
  }

  private String quotaLine(long limit) {
    long used = ctx.mail().usage(st.account.id());
    // RFC 9208 §5.1: STORAGE is counted in units of 1024 octets
    return "* QUOTA \"\" (STORAGE " + (used + 1023) / 1024 + " " + limit / 1024 + ")";
  }
}
