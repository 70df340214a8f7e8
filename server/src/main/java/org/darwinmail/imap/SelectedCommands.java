package org.darwinmail.imap;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.james.mime4j.dom.address.Address;
import org.apache.james.mime4j.dom.address.AddressList;
import org.apache.james.mime4j.dom.address.Group;
import org.darwinmail.imap.FetchItem.Section;
import org.darwinmail.imap.ImapCommand.*;
import org.darwinmail.mime.MimePart;
import org.darwinmail.store.Flags;
import org.darwinmail.store.MailStore;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.ViewBudget;
import org.darwinmail.urlauth.UrlAuth;

/**
 * SELECT and EXAMINE, and the commands of the selected state (RFC 3501 §6.4) with their extensions, on the session's
 * state and output.
 */
final class SelectedCommands {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SelectedCommands.class);
  private static final int FLUSH_BYTES = 256 * 1024;
  private final ImapContext ctx;
  private final MailStore mail;
  private final SessionState st;
  private final ReplyWriter writer;
  private final Updates updates;

  SelectedCommands(ImapContext ctx, SessionState st, ReplyWriter writer, Updates updates) {
    this.ctx = ctx;
    this.mail = ctx.mail();
    this.st = st;
    this.writer = writer;
    this.updates = updates;
  }

  private Selected sel() {
    return st.selected;
  }

  private void writable() {
    if (sel().readOnly) {
      throw ImapException.no("READ-ONLY", "Mailbox is read-only (EXAMINE)");
    }
  }

  private List<MessageRow> live(List<MessageRow> rows) {
    if (rows instanceof Selected.Rows r) {
      return r.live();
    }
    return rows.stream().filter(r -> !sel().gone.contains(r.uid())).toList();
  }

  // ---- SELECT, EXAMINE ----

  /**
   * SELECT and EXAMINE (RFC 3501 §6.3.1 / §6.3.2, with CONDSTORE and QRESYNC: RFC 7162 §3.1.8, §3.2.5): the view is
   * opened and the session enters the selected state; {@code onChange} hears of every change to the mailbox.
   */
  void select(Select x, Consumer<Selected> onChange) {
    if (x.qresync() != null && !st.qresync) {
      throw ImapException.bad("Enable QRESYNC first");
    }
    boolean hadSelection = st.selected != null;
    st.deselect();
    if (hadSelection) {
      // RFC 9051 §7.1 (and RFC 7162 §3.2.11): a server that advertises IMAP4rev2 always marks where the previous
      // mailbox's responses end, also when this SELECT then fails
      writer.send("* OK [CLOSED] Previous mailbox closed");
    }
    Mailbox m = mail.mailbox(st.account.id(), x.mailbox())
        .orElseThrow(() -> ImapException.no("NONEXISTENT", "No such mailbox"));
    if (x.condstore()) {
      st.condstore = true;
    }
    Selected s = new Selected(m, x.readOnly());
    s.subscription = mail.events().subscribe(m.id(), id -> onChange.accept(s));
    long epoch = mail.events().epoch(m.id());
    // the modseq first, the messages second: a change in between is read again later, never missed
    Mailbox fresh = mail.mailbox(m.id()).orElse(m);
    mail.events().establish(m.id(), fresh.highestModseq(), epoch);
    s.syncedModseq = fresh.highestModseq();
    // Row by row into the view's columns: a mailbox of 100,000 messages is never a list of 100,000 rows in the heap
    int[] firstUnseen = {0};
    try {
      mail.eachMessage(m.id(), r -> {
        s.load(r);
        s.keywords.addAll(r.keywords());
        if (firstUnseen[0] == 0 && !r.has(Flags.SEEN)) {
          firstUnseen[0] = s.msn(r.uid());
        }
      });
    } catch (Selected.TooLarge e) {
      s.close();
      log.warn("{}: SELECT {} refused (NO [LIMIT]): the mailboxes all sessions hold would take more than {} MB of"
          + " the heap (half of it; {} messages read when it ran out)", st.account.address(), m.name(),
          ViewBudget.SHARED.limit() >> 20, s.size());
      throw ImapException.no("LIMIT", "Too many messages held open by all sessions now; try again later");
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    s.loaded();
    // \Recent (RFC 3501 §2.3.2): SELECT takes the messages no session has taken yet; EXAMINE only looks
    s.markRecentAbove(updates.recentMark(s, s.maxUid()));
    st.select(s);
    updates.flagLists(s);
    writer.send("* " + s.size() + " EXISTS");
    if (!st.rev2) {
      writer.send("* " + s.recentCount() + " RECENT");
      // [UNSEEN n] carries a message sequence number: none after ENABLE UIDONLY (RFC 9586 §3)
      if (firstUnseen[0] > 0 && !st.uidOnly) {
        writer.send("* OK [UNSEEN " + firstUnseen[0] + "] First unseen");
      }
    }
    long uidNext = Math.max(fresh.uidNext(), s.maxUid() + 1);
    writer.send("* OK [UIDVALIDITY " + m.uidValidity() + "] UIDs valid");
    writer.send("* OK [UIDNEXT " + uidNext + "] Predicted next UID");
    writer.send("* OK [HIGHESTMODSEQ " + fresh.highestModseq() + "] Highest");
    writer.send("* OK [MAILBOXID (" + ObjectIds.mailboxId(m) + ")] Ok"); // RFC 8474 §4.1
    // RFC 4467 §7.1: with URLAUTH advertised, the mechanisms of the mailbox on selection (untagged: the tagged OK
    // carries READ-WRITE / READ-ONLY, and a response has one code)
    writer.send("* OK [URLMECH " + UrlAuth.INTERNAL + "] URLAUTH mechanisms");
    if (st.rev2) {
      writer.send(new Resp(st.utf8).raw("* LIST () \"/\" ").string(MailboxNames.toWire(m.name(), st.utf8)).bytes());
    }
    if (x.qresync() != null && x.qresync().uidValidity() == m.uidValidity()) {
      qresyncSelect(x.qresync());
    }
    writer.ok(x.tag(), "[" + (x.readOnly() ? "READ-ONLY" : "READ-WRITE") + "] " + (x.readOnly() ? "EXAMINE" : "SELECT")
        + " completed");
  }

  // ---- CLOSE, EXPUNGE ----

  /** RFC 3501 §6.4.2: expunges \Deleted silently (unless read-only) and leaves the selected state. */
  void close(Close x) {
    Selected m = sel();
    if (!m.readOnly) {
      List<Long> del = new ArrayList<>();
      for (int i = 0; i < m.size(); i++) {
        if ((m.flags(i) & Flags.DELETED) != 0) {
          del.add(m.uid(i));
        }
      }
      mail.expunge(m.mailbox.id(), del);
    }
    st.deselect();
    writer.ok(x.tag(), "CLOSE completed");
  }

  /** RFC 3501 §6.4.3 and UID EXPUNGE (RFC 4315 §2.1). */
  void expunge(Expunge x) {
    writable();
    updates.send(true);
    Selected m = sel();
    List<Long> del = new ArrayList<>();
    long max = m.maxUid();
    for (int i = 0; i < m.size(); i++) {
      long uid = m.uid(i);
      if ((m.flags(i) & Flags.DELETED) != 0 && (x.uids() == null || x.uids().saved() && st.savedResult.contains(uid)
          || !x.uids().saved() && x.uids().contains(uid, max))) {
        del.add(uid);
      }
    }
    List<Long> removed = mail.expunge(m.mailbox.id(), del);
    m.gone.addAll(removed);
    updates.expunges(m);
    // RFC 7162 §3.2.10: with QRESYNC on, an expunge that removed messages reports the mailbox's new HIGHESTMODSEQ
    writer.ok(x.tag(), (st.qresync && !removed.isEmpty() ? "[HIGHESTMODSEQ " + mail.highestModseq(m.mailbox.id())
        + "] " : "") + "EXPUNGE completed");
  }

  // ---- SEARCH, SORT ----

  /** The messages of the view that match, in sequence order; rows made as they are read (Selected.Rows). */
  private List<MessageRow> matching(SearchKey key) {
    Selected m = sel();
    Selected.Positions out = new Selected.Positions();
    long max = m.maxUid();
    int n = m.size();
    for (int i = 0; i < n; i++) {
      writer.checkClient();
      MessageRow r = m.row(i);
      Supplier<MimePart> part = new Supplier<>() {
        MimePart p;

        @Override
        public MimePart get() {
          if (p == null) {
            p = MessageCache.get(mail.blobs(), r.blob());
          }
          return p;
        }
      };
      if (Searcher.matches(key, new Searcher.Subject(r, i + 1, n, max, m.recent(r.uid()), st.savedResult,
          part))) {
        out.add(i);
      }
    }
    return m.rows(out);
  }

  /** RFC 3501 §6.4.4, ESEARCH (RFC 4731), SEARCHRES (RFC 5182), CONDSTORE MODSEQ (RFC 7162 §3.1.5). */
  void search(Search x) {
    updateTagFree(x.tag(), x.returns());
    updates.send(x.uid());
    List<MessageRow> found = matching(x.key());
    if (Searcher.usesModSeq(x.key())) {
      updates.enableCondstore(); // RFC 7162 §3.1: SEARCH MODSEQ enables CONDSTORE
    }
    keepUpdated(x.tag(), x.uid(), x.returns(), x.key(), null, found);
    respond(x.tag(), x.uid(), x.returns(), found, Searcher.usesModSeq(x.key()), "SEARCH");
  }

  /**
   * The result of SEARCH or SORT: "* SEARCH" / "* SORT", or ESEARCH with return options (RFC 4731; for SORT, ESORT,
   * RFC 5267 §3.1: MIN and MAX are the first and last in {@code found}'s order, which is the sort order, and ALL
   * keeps that order, its ranges ascending, §3.2).
   */
  private void respond(String tag, boolean uid, Set<String> returns, List<MessageRow> found, boolean modseq,
      String verb) {
    Selected m = sel();
    List<Long> nums = found.stream().map(r -> uid ? r.uid() : m.msn(r.uid())).map(Long::valueOf).toList();
    long highest = found.stream().mapToLong(MessageRow::modseq).max().orElse(0);
    boolean esearch = !returns.isEmpty() || st.rev2 && verb.equals("SEARCH");
    if (!found.isEmpty() && (returns.contains("MIN") || returns.contains("MAX")) && !returns.contains("ALL")
        && !returns.contains("COUNT")) {
      // RFC 7162 §3.1.5 with RFC 4731: with only MIN and/or MAX, MODSEQ is the highest of the messages returned
      MessageRow lo = found.get(0);
      MessageRow hi = found.get(found.size() - 1);
      highest = Math.max(returns.contains("MIN") ? lo.modseq() : 0, returns.contains("MAX") ? hi.modseq() : 0);
    }
    if (!esearch) {
      StringBuilder sb = new StringBuilder("* " + verb);
      for (long n : nums) {
        sb.append(' ').append(n);
      }
      if (modseq && !found.isEmpty()) {
        sb.append(" (MODSEQ ").append(highest).append(')');
      }
      writer.send(sb.toString());
      writer.ok(tag, verb + " completed");
      return;
    }
    Set<String> r = returns.isEmpty() ? Set.of("ALL") : returns;
    long[] partial = ImapCommand.partial(r);
    if (r.contains("SAVE")) {
      List<Long> saved = new ArrayList<>();
      boolean onlyMinMax = (r.contains("MIN") || r.contains("MAX")) && !r.contains("ALL") && !r.contains("COUNT");
      if (onlyMinMax && !found.isEmpty()) { // RFC 5182 §2.4: SAVE with MIN/MAX saves those only
        if (r.contains("MIN")) {
          saved.add(found.get(0).uid());
        }
        if (r.contains("MAX")) {
          saved.add(found.get(found.size() - 1).uid());
        }
      } else if (partial != null && !r.contains("COUNT") && !r.contains("MIN") && !r.contains("MAX")) {
        slice(found, partial).forEach(f -> saved.add(f.uid())); // as RFC 9394 §3.1: the part returned
      } else {
        found.forEach(f -> saved.add(f.uid()));
      }
      st.savedResult = saved;
    }
    if (r.equals(Set.of("SAVE"))) {
      writer.ok(tag, verb + " completed, result saved");
      return;
    }
    StringBuilder sb = new StringBuilder("* ESEARCH (TAG \"" + tag + "\")");
    if (uid) {
      sb.append(" UID");
    }
    if (!nums.isEmpty()) {
      if (r.contains("MIN")) {
        sb.append(" MIN ").append(nums.get(0));
      }
      if (r.contains("MAX")) {
        sb.append(" MAX ").append(nums.get(nums.size() - 1));
      }
    }
    if (r.contains("COUNT")) {
      sb.append(" COUNT ").append(nums.size());
    }
    if (r.contains("ALL") && !nums.isEmpty()) {
      sb.append(" ALL ").append(SeqSet.format(nums));
    }
    if (partial != null) {
      // RFC 5267 §4.4: the results at positions low..high of the requested order; NIL when there are none
      List<Long> slice = slice(nums, partial);
      sb.append(" PARTIAL (").append(partial[0]).append(':').append(partial[1]).append(' ')
          .append(slice.isEmpty() ? "NIL" : SeqSet.format(slice)).append(')');
    }
    if (modseq && !found.isEmpty()) {
      sb.append(" MODSEQ ").append(highest);
    }
    writer.send(sb.toString());
    writer.ok(tag, verb + " completed");
  }

  /** RFC 5256 §3: the messages matching the search, ordered by the criteria, ties by sequence number. */
  void sort(Sort x) {
    updateTagFree(x.tag(), x.returns());
    updates.send(x.uid());
    List<MessageRow> found = new ArrayList<>(matching(x.key()));
    sortRows(found, x.criteria());
    if (Searcher.usesModSeq(x.key())) {
      updates.enableCondstore(); // RFC 7162 §3.1: SORT with MODSEQ too
    }
    keepUpdated(x.tag(), x.uid(), x.returns(), x.key(), x.criteria(), found);
    respond(x.tag(), x.uid(), x.returns(), found, Searcher.usesModSeq(x.key()), "SORT");
  }

  /** Orders {@code found} by the criteria, ties by sequence number (RFC 5256 §3). */
  private void sortRows(List<MessageRow> found, List<SortKey> criteria) {
    Map<Long, MimePart> parts = new HashMap<>();
    java.util.function.Function<MessageRow, MimePart> part = r -> parts.computeIfAbsent(r.uid(),
        u -> MessageCache.get(mail.blobs(), r.blob()));
    Comparator<MessageRow> cmp = null;
    for (SortKey k : criteria) {
      Comparator<MessageRow> c = switch (k.key()) {
        case "ARRIVAL" -> Comparator.comparing(MessageRow::internalDate);
        case "DATE" -> Comparator.comparing(once(r -> Searcher.sentInstant(part.apply(r), r.internalDate())));
        case "SIZE" -> Comparator.comparingLong(MessageRow::size);
        // strings compare under i;unicode-casemap (RFC 5051): keys in its form, in code point order
        case "SUBJECT" -> Comparator.comparing(once(r -> BaseSubject.of(part.apply(r).header("Subject"))),
            Casemap::compare);
        case "FROM", "TO", "CC" -> Comparator.comparing(once(r -> firstMailbox(part.apply(r).header(
            k.key().equals("FROM") ? "From" : k.key().equals("TO") ? "To" : "Cc"))), Casemap::compare);
        case "DISPLAYFROM", "DISPLAYTO" -> Comparator.comparing(once(r -> SortValues.display(part.apply(r).header(
            k.key().equals("DISPLAYFROM") ? "From" : "To"))), Casemap::compare);
        default -> throw ImapException.bad("Unknown sort key");
      };
      if (k.reverse()) {
        c = c.reversed();
      }
      cmp = cmp == null ? c : cmp.thenComparing(c);
    }
    cmp = cmp == null ? Comparator.comparingLong(MessageRow::uid) : cmp.thenComparingLong(MessageRow::uid);
    found.sort(cmp);
  }

  private static <T> List<T> slice(List<T> ordered, long[] range) {
    int from = (int) Math.min(range[0] - 1, ordered.size());
    int to = (int) Math.min(range[1], ordered.size());
    return ordered.subList(from, to);
  }

  // ---- CONTEXT=SEARCH, CONTEXT=SORT (RFC 5267 §4.3) ----

  /** §4.3: UPDATE with the tag of a search still updating is BAD (before anything is answered). */
  private void updateTagFree(String tag, Set<String> returns) {
    Contexts c = st.contexts;
    if (returns.contains("UPDATE") && c != null && c.has(tag)) {
      throw ImapException.bad("Duplicate search update tag");
    }
  }

  /** RETURN (UPDATE): the search is kept up to date, or NOUPDATE when there are too many already (§4.3.1). */
  private void keepUpdated(String tag, boolean uid, Set<String> returns, SearchKey key, List<SortKey> criteria,
      List<MessageRow> found) {
    if (!returns.contains("UPDATE")) {
      return;
    }
    Selected m = sel();
    if (st.contexts == null) {
      st.contexts = new Contexts((k, crit) -> {
        List<MessageRow> rows = new ArrayList<>(live(matching(k)));
        if (crit != null) {
          sortRows(rows, crit);
        }
        return rows.stream().map(MessageRow::uid).toList();
      });
    }
    if (st.contexts.full()) {
      writer.send("* NO [NOUPDATE \"" + tag + "\"] Too many contexts");
      return;
    }
    st.contexts.add(tag, uid, Contexts.pin(key, m, st.savedResult), criteria,
        found.stream().map(MessageRow::uid).toList(), m);
  }

  /** RFC 5267 §4.3.5: NO when a tag names no search being updated (the others stop all the same). */
  void cancelUpdate(CancelUpdate x) {
    Contexts c = st.contexts;
    if (c == null || !c.cancel(x.tags())) {
      throw ImapException.no(null, "Unknown tag");
    }
    writer.ok(x.tag(), "Updates cancelled");
  }

  /** RFC 5256 §3-4: THREAD and UID THREAD, by ORDEREDSUBJECT or REFERENCES, over the messages the search found. */
  void thread(ThreadMessages x) {
    updates.send(x.uid());
    Selected m = sel();
    List<Threads.Message> messages = new ArrayList<>();
    for (MessageRow r : matching(x.key())) {
      writer.checkClient();
      MimePart p = MessageCache.get(mail.blobs(), r.blob());
      long msn = m.msn(r.uid());
      messages.add(new Threads.Message(x.uid() ? r.uid() : msn, msn,
          Searcher.sentInstant(p, r.internalDate()), BaseSubject.extract(p.header("Subject")),
          p.header("Message-ID"), p.header("References"), p.header("In-Reply-To")));
    }
    String threads = x.algorithm().equals("REFERENCES") ? Threads.references(messages)
        : Threads.orderedSubject(messages);
    writer.send(threads.isEmpty() ? "* THREAD" : "* THREAD " + threads);
    writer.ok(x.tag(), "THREAD completed");
  }

  /** A sort key computed once per message (a sort compares each message about log n times). */
  private <T> java.util.function.Function<MessageRow, T> once(java.util.function.Function<MessageRow, T> key) {
    Map<Long, T> keys = new HashMap<>();
    return r -> {
      T v = keys.get(r.uid());
      if (v == null) {
        writer.checkClient();
        v = key.apply(r);
        keys.put(r.uid(), v);
      }
      return v;
    };
  }

  private static String firstMailbox(String header) {
    if (header == null) {
      return "";
    }
    try {
      AddressList l = MimePart.addresses(header);
      for (Address a : l) {
        if (a instanceof org.apache.james.mime4j.dom.address.Mailbox mb) {
          return mb.getLocalPart() == null ? "" : Casemap.key(mb.getLocalPart());
        }
        if (a instanceof Group g) {
          // RFC 5256 §3: the addr-mailbox of the first address as ENVELOPE gives it; a group starts with an
          // address whose addr-mailbox is the group's name (RFC 3501 §7.4.2), not its first member's
          return g.getName() == null ? "" : Casemap.key(g.getName());
        }
      }
    } catch (RuntimeException e) {
      // unreadable: sorts first
    }
    return "";
  }

  // ---- FETCH ----

  /**
   * RFC 3501 §6.4.5 / §6.4.8, CHANGEDSINCE and VANISHED (RFC 7162 §3.1.4, §3.2.6), BINARY (RFC 3516), SAVEDATE
   * (RFC 8514), EMAILID / THREADID (RFC 8474), PREVIEW (RFC 8970).
   */
  void fetch(Fetch x) {
    updates.send(x.uid());
    Selected m = sel();
    List<MessageRow> rows = m.resolve(x.set(), x.uid(), st.savedResult);
    if (x.items().stream().anyMatch(i -> i instanceof FetchItem.ModSeq)) {
      updates.enableCondstore(); // RFC 7162 §3.1: FETCH MODSEQ (and CHANGEDSINCE, which adds it) enables CONDSTORE
    }
    if (x.changedSince() != null) {
      rows = rows.stream().filter(r -> r.modseq() > x.changedSince()).toList();
    }
    if (x.vanished()) {
      if (!st.qresync) {
        throw ImapException.bad("VANISHED needs ENABLE QRESYNC");
      }
      List<Long> v = expungedSince(x.changedSince()).stream().filter(u -> x.set().contains(u, m.maxUid())).toList();
      if (!v.isEmpty()) {
        writer.send("* VANISHED (EARLIER) " + SeqSet.format(v));
      }
    }
    boolean marksSeen = !m.readOnly && x.items().stream().anyMatch(i -> i instanceof Section sec && sec.setsSeen());
    Set<Long> seenNow = new HashSet<>();
    if (marksSeen) {
      List<Long> unseen = live(rows).stream().filter(r -> !r.has(Flags.SEEN)).map(MessageRow::uid).toList();
      for (MessageRow r : mail.store(m.mailbox.id(), unseen, MailStore.FlagOp.ADD, Flags.SEEN, Set.of(),
          null)) {
        m.update(r);
        seenNow.add(r.uid());
      }
    }
    fetchLines(m, rows, x.items(), seenNow);
    writer.ok(x.tag(), (x.uid() ? "UID " : "") + "FETCH completed");
  }

  /**
   * Untagged FETCH responses for messages of the view that are new to the client, with the fetch-att list of NOTIFY's
   * MessageNew (RFC 5465 §5.2); the items are peeks (the parser made them so): nothing is marked \Seen.
   */
  void fetchLines(Selected m, List<MessageRow> rows, List<FetchItem> items) {
    fetchLines(m, rows, items, Set.of());
  }

  /** One untagged FETCH per row (RFC 3501 §7.4.2), FLAGS added for the rows this FETCH marked \Seen. */
  private void fetchLines(Selected m, List<MessageRow> rows, List<FetchItem> items, Set<Long> seenNow) {
    boolean hasFlags = items.stream().anyMatch(i -> i instanceof FetchItem.Flags);
    int pending = 0;
    boolean fresh = rows instanceof Selected.Rows; // each row made from the view as it is read: already current
    for (MessageRow r0 : rows) {
      writer.checkClient();
      MessageRow r = fresh ? r0 : m.get(r0.uid());
      if (r == null) {
        r = r0;
      }
      Resp out = new Resp(st.utf8);
      out.raw(st.fetchHead(m, r.uid()));
      boolean first = true;
      MimePart part = null;
      for (FetchItem item : items) {
        if (!first) {
          out.sp();
        }
        first = false;
        switch (item) {
          case FetchItem.Flags f -> out.raw("FLAGS (" + FlagNames.of(m, r) + ")");
          case FetchItem.Uid u -> out.raw("UID " + r.uid());
          case FetchItem.InternalDate d -> out.raw("INTERNALDATE \"" + internalDate(r.internalDate())
              + "\"");
          case FetchItem.Rfc822Size z -> out.raw("RFC822.SIZE " + r.size());
          case FetchItem.ModSeq q -> out.raw("MODSEQ (" + r.modseq() + ")");
          // RFC 8514 §4.1: msg-att-static =/ "SAVEDATE" SP (date-time / nil); every mailbox here keeps it
          case FetchItem.SaveDate d -> out.raw("SAVEDATE \"" + internalDate(r.saveDate()) + "\"");
          // RFC 8474 §5: "EMAILID" SP "(" objectid ")", "THREADID" SP ("(" objectid ")" / nil)
          case FetchItem.EmailId e -> out.raw("EMAILID (" + ObjectIds.emailId(r) + ")");
          case FetchItem.ThreadId t -> out.raw("THREADID NIL");
          case FetchItem.Preview v -> {
            // RFC 8970 §3: "PREVIEW" SP nstring, at most 256 characters; computed at once, LAZY or not (bounded
            // work: mime.Preview)
            part = part != null ? part : MessageCache.get(mail.blobs(), r.blob());
            out.raw("PREVIEW ").string(org.darwinmail.mime.Preview.of(part));
          }
          case FetchItem.Envelope e -> {
            part = part != null ? part : MessageCache.get(mail.blobs(), r.blob());
            out.raw("ENVELOPE ");
            Render.envelope(part, out);
          }
          case FetchItem.Structure b -> {
            part = part != null ? part : MessageCache.get(mail.blobs(), r.blob());
            out.raw(b.extensible() ? "BODYSTRUCTURE " : "BODY ");
            Render.body(part, b.extensible(), out);
          }
          case Section sec -> {
            if (sec.spec() == FetchItem.Spec.ALL && sec.path().length == 0 && !sec.binary()
                && sec.partial() == null && r.size() > STREAM_OVER) {
              // A large whole message goes out from its file: what was built so far, the file, then the rest.
              java.nio.file.Path file = mail.blobs().path(r.blob());
              long size = fileSize(file);
              out.raw(sec.label()).sp().raw("{" + size + "}\r\n");
              writer.sendBytes(out.bytes());
              try {
                writer.sendFile(file, size);
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
              pending = 0;
              out = new Resp(st.utf8);
            } else if (sec.spec() == FetchItem.Spec.ALL && sec.path().length == 0 && !sec.binary()) {
              section(out, sec, whole(r));
            } else {
              part = part != null ? part : MessageCache.get(mail.blobs(), r.blob());
              section(out, sec, part);
            }
          }
        }
      }
      if (seenNow.contains(r.uid()) && !hasFlags) {
        out.raw(" FLAGS (" + FlagNames.of(m, r) + ")");
      }
      out.raw(")");
      writer.send(out.bytes());
      pending += out.size();
      if (pending > FLUSH_BYTES) {
        writer.flush();
        pending = 0;
      }
    }
  }

  /** RFC 3501 §9 date-time, in UTC. */
  private static String internalDate(Instant t) {
    return DATE_TIME.format(t.atZone(ZoneOffset.UTC));
  }

  private static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("dd-MMM-yyyy HH:mm:ss Z", Locale.ROOT);

  /** A whole message larger than this is streamed from its file rather than read into memory. */
  static final long STREAM_OVER = 256 * 1024;

  private static long fileSize(java.nio.file.Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private byte[] whole(MessageRow r) {
    try {
      return Files.readAllBytes(mail.blobs().path(r.blob()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void section(Resp out, Section sec, byte[] data) {
    out.raw(sec.label()).sp();
    partial(out, sec, data, false);
  }

  private static void section(Resp out, Section sec, MimePart root) {
    MimePart p = root.part(sec.path());
    if (sec.binary()) {
      byte[] d = p == null ? null : p.decodedBody();
      if (d != null && sec.path().length == 0) {
        // BINARY[] is the whole message (RFC 3516 §4.2): its header as it is, then its body decoded
        byte[] h = root.headerBytes();
        byte[] all = new byte[h.length + d.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(d, 0, all, h.length, d.length);
        d = all;
      }
      if (d == null) {
        throw ImapException.no("UNKNOWN-CTE", "Cannot decode this part's transfer encoding");
      }
      if (sec.sizeOnly()) {
        out.raw(sec.label()).sp().num(d.length);
        return;
      }
      out.raw(sec.label()).sp();
      boolean nul = false;
      for (byte b : d) {
        if (b == 0) {
          nul = true;
          break;
        }
      }
      partial(out, sec, d, nul); // literal8 when it holds NUL (RFC 3516 §4.2)
      return;
    }
    out.raw(sec.label()).sp();
    byte[] data = sec.of(root);
    if (data == null) {
      out.raw("NIL");
      return;
    }
    partial(out, sec, data, false);
  }

  /** The section's bytes (or its partial range) as a literal, or as a literal8 when {@code literal8}. */
  private static void partial(Resp out, Section sec, byte[] data, boolean literal8) {
    int from = 0;
    int len = data.length;
    if (sec.partial() != null) {
      from = (int) Math.min(sec.partial()[0], data.length);
      len = (int) Math.min(sec.partial()[1], data.length - from);
    }
    if (literal8) {
      out.literal8(data, from, len);
    } else {
      out.literal(data, from, len);
    }
  }

  List<Long> expungedSince(long modseq) {
    return mail.expungedSince(sel().mailbox.id(), modseq);
  }

  /** SELECT with QRESYNC (RFC 7162 §3.2.5.1): what vanished and what changed since the client's modseq. */
  void qresyncSelect(Qresync q) {
    Selected m = sel();
    List<Long> v = expungedSince(q.modseq());
    if (q.knownUids() != null) {
      v = v.stream().filter(u -> q.knownUids().contains(u, Long.MAX_VALUE)).toList();
    }
    if (!v.isEmpty()) {
      writer.send("* VANISHED (EARLIER) " + SeqSet.format(v));
    }
    for (int i = 0; i < m.size(); i++) {
      MessageRow r = m.row(i);
      long uid = r.uid();
      if (r.modseq() > q.modseq()) {
        writer.send(st.fetchHead(m, uid) + "UID " + uid + " FLAGS (" + FlagNames.of(m, r) + ") MODSEQ ("
            + r.modseq() + "))");
      }
    }
  }

  // ---- STORE ----

  /** RFC 3501 §6.4.6, UNCHANGEDSINCE and MODIFIED (RFC 7162 §3.1.3). */
  void store(Store x) {
    writable();
    updates.send(x.uid());
    Selected m = sel();
    List<MessageRow> rows = live(m.resolve(x.set(), x.uid(), st.savedResult));
    List<String> flags = x.flags().stream().filter(f -> !f.equalsIgnoreCase("\\Recent")).toList();
    if (x.unchangedSince() != null) {
      updates.enableCondstore(); // RFC 7162 §3.1: STORE UNCHANGEDSINCE enables CONDSTORE
    }
    List<Long> uids = rows.stream().map(MessageRow::uid).toList();
    List<MessageRow> changed = mail.store(m.mailbox.id(), uids, flagOp(x.op()),
        FlagNames.bits(flags), FlagNames.keywords(flags), x.unchangedSince());
    updates.announceKeywords(m, changed);
    Set<Long> changedUids = new HashSet<>();
    for (MessageRow r : changed) {
      m.update(r);
      changedUids.add(r.uid());
    }
    List<Long> modified = new ArrayList<>();
    if (x.unchangedSince() != null) {
      Map<Long, MessageRow> now = new HashMap<>();
      for (MessageRow r : mail.messages(m.mailbox.id(), uids)) { // only the messages this STORE named
        now.put(r.uid(), r);
      }
      for (long uid : uids) {
        MessageRow r = now.get(uid);
        if (r != null && !changedUids.contains(uid) && r.modseq() > x.unchangedSince()) {
          modified.add(x.uid() ? uid : m.msn(uid));
        }
      }
    }
    for (MessageRow r0 : rows) {
      MessageRow r = m.get(r0.uid());
      boolean show = !x.silent() || changedUids.contains(r.uid()) && x.unchangedSince() != null;
      if (show && !modified.contains(x.uid() ? r.uid() : (long) m.msn(r.uid()))) {
        // RFC 9051 §9 msg-att: "(" item *(SP item) ")"; with .SILENT only UID and MODSEQ (RFC 7162 §3.1.3)
        List<String> items = new ArrayList<>(3);
        if (!x.silent()) {
          items.add("FLAGS (" + FlagNames.of(m, r) + ")");
        }
        if (x.uid()) {
          items.add("UID " + r.uid());
        }
        if (st.condstore) {
          items.add("MODSEQ (" + r.modseq() + ")");
        }
        writer.send(st.fetchHead(m, r.uid()) + String.join(" ", items) + ")");
      }
    }
    if (st.contexts != null) {
      st.contexts.refresh(m, writer, true); // RFC 5267 §4.3.2: ADDTO / REMOVEFROM with the causal FETCH
    }
    if (!modified.isEmpty()) {
      writer.ok(x.tag(), "[MODIFIED " + SeqSet.format(modified.stream().sorted().toList())
          + "] Conditional STORE failed");
    } else {
      writer.ok(x.tag(), "STORE completed");
    }
  }

  /** The store's operation for STORE's FLAGS, +FLAGS and -FLAGS. */
  private static MailStore.FlagOp flagOp(StoreOp op) {
    return switch (op) {
      case REPLACE -> MailStore.FlagOp.REPLACE;
      case ADD -> MailStore.FlagOp.ADD;
      case REMOVE -> MailStore.FlagOp.REMOVE;
    };
  }

  // ---- COPY, MOVE ----

  /** RFC 3501 §6.4.7, UIDPLUS COPYUID (RFC 4315 §3), MOVE (RFC 6851 §3). */
  void copy(Copy x) {
    if (x.move()) {
      writable();
    }
    updates.send(x.uid());
    Selected m = sel();
    var target = mail.mailbox(st.account.id(), x.mailbox())
        .orElseThrow(() -> ImapException.no("TRYCREATE", "No such mailbox"));
    List<MessageRow> rows = live(m.resolve(x.set(), x.uid(), st.savedResult));
    String verb = x.move() ? "MOVE" : "COPY";
    if (rows.isEmpty()) {
      writer.ok(x.tag(), verb + " completed, nothing to do");
      return;
    }
    long quota = ctx.quotaLimit(st.account);
    long size = rows.stream().mapToLong(MessageRow::size).sum();
    if (!x.move() && quota > 0 && mail.usage(st.account.id()) + size > quota) {
      throw ImapException.no("OVERQUOTA", "Quota exceeded");
    }
    List<Long> uids = rows.stream().map(MessageRow::uid).toList();
    List<MessageRow> copies = mail.copy(m.mailbox.id(), uids, target.id());
    String copyUid = "COPYUID " + target.uidValidity() + " " + SeqSet.format(uids) + " "
        + SeqSet.format(copies.stream().map(MessageRow::uid).toList());
    boolean self = target.id() == m.mailbox.id();
    if (!x.move()) {
      if (self) {
        updates.send(x.uid()); // the copies' EXISTS (RFC 3501 §7.3.1)
      }
      writer.ok(x.tag(), "[" + copyUid + "] COPY completed");
      return;
    }
    writer.send("* OK [" + copyUid + "] Moved");
    List<Long> removed = mail.expunge(m.mailbox.id(), uids);
    m.gone.addAll(removed);
    updates.expunges(m);
    if (self) {
      updates.send(true); // moved into the selected mailbox: the EXISTS of the new copies follows the EXPUNGEs
    }
    writer.ok(x.tag(), "MOVE completed");
  }

  // ---- REPLACE ----

  /**
   * REPLACE / UID REPLACE (RFC 8508 §3.3): the new message is appended to the target mailbox as APPEND would (a
   * failure there leaves the old one untouched), then the old one is expunged from the selected mailbox; one flow:
   * the APPENDUID in an untagged OK, the new message's EXISTS when the target is the selected mailbox, the EXPUNGE
   * (or VANISHED) of the old, and the tagged OK.
   */
  void replace(Replace x, MailboxCommands boxes) {
    try {
      writable(); // §3.3: the selected mailbox must be writable (EXAMINE: NO)
      updates.send(x.uid());
      Selected m = sel();
      MessageRow old;
      if (x.uid()) {
        old = m.get(x.number());
        if (old == null || m.gone.contains(x.number())) {
          throw ImapException.no("NONEXISTENT", "No message with that UID");
        }
      } else {
        if (x.number() > m.size()) {
          throw ImapException.bad("No message with that sequence number");
        }
        old = m.row((int) x.number() - 1);
      }
      var target = mail.mailbox(st.account.id(), x.mailbox())
          .orElseThrow(() -> ImapException.no("TRYCREATE", "No such mailbox"));
      List<MessageRow> added = boxes.store(target, List.of(x.message()));
      writer.send("* OK [APPENDUID " + target.uidValidity() + " " + added.getFirst().uid()
          + "] Replacement message ready");
      if (target.id() == m.mailbox.id()) {
        updates.send(true); // the new message's EXISTS first (RFC 8508 §3.3 example)
      }
      List<Long> removed = mail.expunge(m.mailbox.id(), List.of(old.uid()));
      m.gone.addAll(removed);
      updates.expunges(m);
      writer.ok(x.tag(), (x.uid() ? "UID " : "") + "REPLACE completed");
    } catch (RuntimeException e) {
      x.message().discard();
      throw e;
    }
  }
}
