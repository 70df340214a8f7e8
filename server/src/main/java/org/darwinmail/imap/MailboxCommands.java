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
import org.darwinmail.store.Flags;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.RefusedException;

/** Commands of the authenticated state that work on mailboxes by name (RFC 3501 §6.3). */
final class MailboxCommands {
  private static final Set<String> USES = Set.of("All", "Archive", "Drafts", "Flagged", "Junk", "Sent", "Trash");

  private MailboxCommands() {}

  private static Mailbox existing(ImapSession s, String name) {
    return s.ctx.mail().mailbox(s.account.id(), name)
        .orElseThrow(() -> ImapException.no("NONEXISTENT", "No such mailbox"));
  }

  private static String wire(ImapSession s, String name) {
    return MailboxNames.toWire(name, s.isUtf8());
  }

  /** The longest mailbox name CREATE and RENAME accept (characters). */
  static final int MAX_NAME_LENGTH = 500;

  static void validName(String name) {
    if (name.isEmpty() || name.length() > MAX_NAME_LENGTH || name.startsWith("/") || name.contains("//")
        || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '*' || c == '%')) {
      throw ImapException.no("CANNOT", "Invalid mailbox name");
    }
  }

  /** RFC 3501 §6.3.3, RFC 6154 §3 (USE); missing superior names are created too. */
  static void create(ImapSession s, Create x) {
    String name = org.darwinmail.store.MailStore.canonicalName(x.mailbox());
    validName(name);
    String use = null;
    if (x.specialUse() != null) {
      String u = x.specialUse().startsWith("\\") ? x.specialUse().substring(1) : "";
      use = USES.stream().filter(k -> k.equalsIgnoreCase(u)).findFirst()
          .orElseThrow(() -> ImapException.no("USEATTR", "Unsupported special use " + x.specialUse()));
    }
    if (s.ctx.mail().mailbox(s.account.id(), name).isPresent()) {
      throw ImapException.no("ALREADYEXISTS", "Mailbox exists");
    }
    int slash = name.indexOf('/');
    while (slash > 0) {
      String parent = name.substring(0, slash);
      if (s.ctx.mail().mailbox(s.account.id(), parent).isEmpty()) {
        // made only because a name below it was asked for: not subscribed (only what the user names is)
        Mailbox made = s.ctx.mail().createMailbox(s.account.id(), parent, null);
        s.ctx.mail().setSubscribed(made.id(), false);
      }
      slash = name.indexOf('/', slash + 1);
    }
    try {
      s.ctx.mail().createMailbox(s.account.id(), name, use);
    } catch (RefusedException e) {
      throw ImapException.no("ALREADYEXISTS", "Mailbox exists");
    }
    s.ok(x.tag(), "CREATE completed");
  }

  /** RFC 3501 §6.3.4. */
  static void delete(ImapSession s, Delete x) {
    Mailbox m = existing(s, x.mailbox());
    if (m.name().equals(Mailbox.INBOX)) {
      throw ImapException.no("CANNOT", "INBOX cannot be deleted");
    }
    if (s.selected != null && s.selected.mailbox.id() == m.id()) {
      s.deselect();
    }
    s.ctx.mail().deleteMailbox(m.id());
    s.ok(x.tag(), "DELETE completed");
  }

  /** RFC 3501 §6.3.5: renaming INBOX moves its messages to the new mailbox and leaves INBOX empty. */
  static void rename(ImapSession s, Rename x) {
    Mailbox m = existing(s, x.from());
    String to = org.darwinmail.store.MailStore.canonicalName(x.to());
    validName(to);
    if (s.ctx.mail().mailbox(s.account.id(), to).isPresent()) {
      throw ImapException.no("ALREADYEXISTS", "Target mailbox exists");
    }
    if (m.name().equals(Mailbox.INBOX)) {
      Mailbox target = s.ctx.mail().createMailbox(s.account.id(), to, null);
      List<Long> uids = s.ctx.mail().messages(m.id()).stream().map(MessageRow::uid).toList();
      s.ctx.mail().copy(m.id(), uids, target.id());
      s.ctx.mail().expunge(m.id(), uids);
    } else {
      s.ctx.mail().renameMailbox(s.account.id(), m.name(), to);
    }
    s.ok(x.tag(), "RENAME completed");
  }

  /** RFC 3501 §6.3.6 / §6.3.7; a name whose mailbox was deleted can still be unsubscribed. */
  static void subscribe(ImapSession s, Subscribe x) {
    if (!x.subscribe() && s.ctx.mail().mailbox(s.account.id(), x.mailbox()).isEmpty()
        && s.ctx.mail().dropOrphanSubscription(s.account.id(), x.mailbox())) {
      s.ok(x.tag(), "UNSUBSCRIBE completed");
      return;
    }
    Mailbox m = existing(s, x.mailbox());
    s.ctx.mail().setSubscribed(m.id(), x.subscribe());
    s.ok(x.tag(), (x.subscribe() ? "SUBSCRIBE" : "UNSUBSCRIBE") + " completed");
  }

  /** LIST (RFC 3501 §6.3.8, RFC 5258, RFC 5819, RFC 6154) and LSUB (RFC 3501 §6.3.9). */
  static void list(ImapSession s, ListMailboxes x) {
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
      s.send("* LIST (\\Noselect) \"/\" \"\"");
      s.ok(x.tag(), "LIST completed");
      return;
    }
    List<Mailbox> all = s.ctx.mail().mailboxes(s.account.id());
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
      for (String o : s.ctx.mail().orphanSubscriptions(s.account.id())) {
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
      s.checkClient();
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
      Resp line = new Resp(s.isUtf8()).raw("* " + verb + " (" + String.join(" ", attrs) + ") \"/\" ")
          .string(wire(s, name));
      if (childInfo) {
        line.raw(" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
      }
      s.send(line.bytes());
      if (m != null && !x.statusItems().isEmpty()) {
        statusLine(s, m, x.statusItems());
      }
    }
    s.ok(x.tag(), verb + " completed");
  }

  /** RFC 3501 §6.3.10, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE, RFC 9051 DELETED. */
  static void status(ImapSession s, Status x) {
    Mailbox m = existing(s, x.mailbox());
    statusLine(s, m, x.items());
    s.ok(x.tag(), "STATUS completed");
  }

  private static void statusLine(ImapSession s, Mailbox mb, List<String> items) {
    Mailbox m = s.ctx.mail().mailbox(mb.id()).orElse(mb);
    List<MessageRow> rows = s.ctx.mail().messages(m.id());
    List<String> out = new ArrayList<>();
    for (String i : items) {
      long v = switch (i) {
        case "MESSAGES" -> rows.size();
        case "RECENT" -> { // RFC 3501 §6.3.10: not yet taken as \Recent by a session (ImapSession.recentMark)
          long mark = s.ctx.mail().recentUid(m.id());
          yield rows.stream().filter(r -> r.uid() > mark).count();
        }
        case "UIDNEXT" -> m.uidNext();
        case "UIDVALIDITY" -> m.uidValidity();
        case "UNSEEN" -> rows.stream().filter(r -> !r.has(Flags.SEEN)).count();
        case "DELETED" -> rows.stream().filter(r -> r.has(Flags.DELETED)).count();
        case "HIGHESTMODSEQ" -> m.highestModseq();
        case "SIZE" -> rows.stream().mapToLong(MessageRow::size).sum();
        default -> throw ImapException.bad("Unknown STATUS item");
      };
      out.add(i + " " + v);
    }
    s.send(new Resp(s.isUtf8()).raw("* STATUS ").string(wire(s, m.name())).raw(" (" + String.join(" ", out) + ")")
        .bytes());
  }

  /** RFC 3501 §6.3.11 with UIDPLUS APPENDUID (RFC 4315 §3), QUOTA (RFC 9208 §4.1.2 OVERQUOTA), APPENDLIMIT. */
  static void append(ImapSession s, Append x) {
    ImapLiteral lit = x.message();
    try {
      Optional<Mailbox> target = s.ctx.mail().mailbox(s.account.id(), x.mailbox());
      if (target.isEmpty()) {
        throw ImapException.no("TRYCREATE", "No such mailbox");
      }
      if (x.flags().stream().anyMatch(f -> f.equalsIgnoreCase("\\Recent"))) {
        throw ImapException.bad("\\Recent cannot be set");
      }
      long quota = s.quotaLimit();
      if (quota > 0 && s.ctx.mail().usage(s.account.id()) + lit.size() > quota) {
        throw ImapException.no("OVERQUOTA", "Quota exceeded");
      }
      if (s.ctx.mail().blobs().capacity().full()) {
        throw ImapSession.storageFull();
      }
      BlobRef blob;
      try {
        blob = s.commit(lit);
      } catch (IOException e) {
        if (s.ctx.mail().blobs().capacity().recheck()) {
          throw ImapSession.storageFull(); // the disk filled meanwhile: its state has its own log line
        }
        throw new org.darwinmail.store.StoreException("cannot store the message", e);
      }
      Instant date = x.date() != null ? x.date() : Instant.now();
      MessageRow row = s.ctx.mail().append(target.get().id(), blob, date, ImapSession.flagBits(x.flags()),
          ImapSession.keywords(x.flags()));
      s.updates(true);
      s.ok(x.tag(), "[APPENDUID " + target.get().uidValidity() + " " + row.uid() + "] APPEND completed");
    } catch (RuntimeException e) {
      lit.discard();
      throw e;
    }
  }

  /** RFC 9208 §4.2: the one quota root "" holds the account's storage. */
  static void getQuota(ImapSession s, GetQuota x) {
    long limit = s.quotaLimit();
    if (!x.root().isEmpty() || limit <= 0) {
      throw ImapException.no("NONEXISTENT", "No such quota root");
    }
    s.send(quotaLine(s, limit));
    s.ok(x.tag(), "GETQUOTA completed");
  }

  /** RFC 9208 §4.3. */
  static void getQuotaRoot(ImapSession s, GetQuotaRoot x) {
    Mailbox m = existing(s, x.mailbox());
    long limit = s.quotaLimit();
    Resp r = new Resp(s.isUtf8()).raw("* QUOTAROOT ").string(wire(s, m.name()));
    if (limit > 0) {
      r.raw(" \"\"");
    }
    s.send(r.bytes());
    if (limit > 0) {
      s.send(quotaLine(s, limit));
    }
    s.ok(x.tag(), "GETQUOTAROOT completed");
  }

  private static String quotaLine(ImapSession s, long limit) {
    long used = s.ctx.mail().usage(s.account.id());
    // RFC 9208 §5.1: STORAGE is counted in units of 1024 octets
    return "* QUOTA \"\" (STORAGE " + (used + 1023) / 1024 + " " + limit / 1024 + ")";
  }
}
