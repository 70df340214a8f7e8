package org.darwinmail.imap;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A parsed IMAP command: a value, dispatched by one exhaustive switch in {@link ImapSession} (STYLE.md §2). Mailbox
 * names are already decoded (modified UTF-7 or UTF-8) into the store's form.
 */
public sealed interface ImapCommand {
  String tag();

  // ---- any state (RFC 3501 §6.1) ----
  record Capability(String tag) implements ImapCommand {}

  record Noop(String tag) implements ImapCommand {}

  record Logout(String tag) implements ImapCommand {}

  /** RFC 2971. */
  record Id(String tag, Map<String, String> params) implements ImapCommand {}

  // ---- not authenticated (§6.2) ----
  record StartTls(String tag) implements ImapCommand {}

  /** RFC 3501 §6.2.2; {@code initial} is the SASL-IR initial response (RFC 4959), or null. */
  record Authenticate(String tag, String mechanism, String initial) implements ImapCommand {}

  record Login(String tag, String user, String password) implements ImapCommand {}

  // ---- authenticated (§6.3) ----
  /** RFC 5161. */
  record Enable(String tag, List<String> capabilities) implements ImapCommand {}

  /** QRESYNC parameters of SELECT (RFC 7162 §3.2.5). */
  record Qresync(long uidValidity, long modseq, SeqSet knownUids) {}

  record Select(String tag, String mailbox, boolean readOnly, boolean condstore, Qresync qresync)
      implements ImapCommand {}

  /** CREATE (RFC 3501 §6.3.3) with RFC 6154 §3 USE (...): the special uses asked for, as written (\Sent). */
  record Create(String tag, String mailbox, List<String> uses) implements ImapCommand {}

  record Delete(String tag, String mailbox) implements ImapCommand {}

  record Rename(String tag, String from, String to) implements ImapCommand {}

  record Subscribe(String tag, String mailbox, boolean subscribe) implements ImapCommand {}

  /** LIST (RFC 3501 §6.3.8, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154) and LSUB (§6.3.9). */
  record ListMailboxes(String tag, String reference, List<String> patterns, boolean lsub, Set<String> selection,
      Set<String> returns, List<String> statusItems) implements ImapCommand {}

  record Namespace(String tag) implements ImapCommand {}

  record Status(String tag, String mailbox, List<String> items) implements ImapCommand {}

  /**
   * One message of APPEND or REPLACE: flags, date-time (null: now) and the literal; or, with CATENATE (RFC 4469 §5),
   * no literal ({@code message} null) and the parts the message is assembled from.
   */
  record AppendMessage(List<String> flags, Instant date, ImapLiteral message, List<CatPart> catenate) {
    AppendMessage(List<String> flags, Instant date, ImapLiteral message) {
      this(flags, date, message, null);
    }

    /** Drops every literal of this message. */
    void discard() {
      if (message != null) {
        message.discard();
      }
      if (catenate != null) {
        catenate.forEach(p -> {
          if (p instanceof CatText t) {
            t.text().discard();
          }
        });
      }
    }
  }

  /** RFC 4469 §5: cat-part = text-literal / url. */
  sealed interface CatPart {}

  /** text-literal = "TEXT" SP literal. */
  record CatText(ImapLiteral text) implements CatPart {}

  /** url = "URL" SP astring: an IMAP URL (RFC 5092) naming a message or a part of one. */
  record CatUrl(String url) implements CatPart {}

  /** APPEND (RFC 3501 §6.3.11), of several messages at once with MULTIAPPEND (RFC 3502 §6.3.11). */
  record Append(String tag, String mailbox, List<AppendMessage> messages) implements ImapCommand {
    /** An APPEND of one message. */
    Append(String tag, String mailbox, List<String> flags, Instant date, ImapLiteral message) {
      this(tag, mailbox, List.of(new AppendMessage(flags, date, message)));
    }

    /** Drops every literal (a refused or failed command). */
    void discard() {
      messages.forEach(AppendMessage::discard);
    }
  }

  record Idle(String tag) implements ImapCommand {}

  /**
   * NOTIFY SET [STATUS] event-groups, or NOTIFY NONE ({@code groups} empty) (RFC 5465 §3, §8). The parser checks the
   * grammar and the BAD rules of the event lists; which events are supported is the handler's ({@link Notifications}).
   */
  record Notify(String tag, boolean status, List<NotifyGroup> groups) implements ImapCommand {}

  /** RFC 5465 §6: filter-mailboxes. */
  enum NotifyFilter { SELECTED, SELECTED_DELAYED, INBOXES, PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES }

  /**
   * One event-group: the filter, its mailbox names (SUBTREE, MAILBOXES; store form), the events (RFC 5423 names as
   * RFC 5465 §5 spells them; unknown atoms kept as sent) or null for NONE, and MessageNew's fetch-att list (empty:
   * none; BODY[...] taken as BODY.PEEK[...]: a notification never sets \Seen).
   */
  record NotifyGroup(NotifyFilter filter, List<String> mailboxes, Set<String> events, List<FetchItem> newItems) {
    boolean selected() {
      return filter == NotifyFilter.SELECTED || filter == NotifyFilter.SELECTED_DELAYED;
    }
  }

  /** RFC 9208 §4.1.1. */
  record GetQuota(String tag, String root) implements ImapCommand {}

  /** RFC 9208 §4.1.2. */
  record GetQuotaRoot(String tag, String mailbox) implements ImapCommand {}

  /** RFC 9208 §4.1.3: the resource limits by upper-case name, in the order given (none: remove the limits). */
  record SetQuota(String tag, String root, Map<String, Long> limits) implements ImapCommand {}

  /** RFC 4978. */
  record Compress(String tag, String mechanism) implements ImapCommand {}

  /** RFC 4467 §6.1: one mailbox's access key ({@code mailbox} null: all of them), with the mechanisms named. */
  record ResetKey(String tag, String mailbox, List<String> mechanisms) implements ImapCommand {}

  /** RFC 4467 §6.2: rump URLs, each with its mechanism ({@code mechanisms} in the same order). */
  record GenUrlAuth(String tag, List<String> urls, List<String> mechanisms) implements ImapCommand {}

  /** RFC 4467 §6.3. */
  record UrlFetch(String tag, List<String> urls) implements ImapCommand {}

  // ---- selected (§6.4) ----
  record Check(String tag) implements ImapCommand {}

  record Close(String tag) implements ImapCommand {}

  record Unselect(String tag) implements ImapCommand {}

  /** EXPUNGE, or UID EXPUNGE (RFC 4315 §2.1) when {@code uids} is set. */
  record Expunge(String tag, SeqSet uids) implements ImapCommand {}

  record Search(String tag, boolean uid, Set<String> returns, SearchKey key) implements ImapCommand {}

  /** RFC 5256 §3. */
  record Sort(String tag, boolean uid, Set<String> returns, List<SortKey> criteria, SearchKey key)
      implements ImapCommand {}

  record SortKey(String key, boolean reverse) {}

  /** RFC 5267 §4.3.5: stop the updates of the searches with these tags. */
  record CancelUpdate(String tag, List<String> tags) implements ImapCommand {}

  /**
   * The range of a PARTIAL return option (RFC 5267 §4.4) in a SEARCH or SORT's return options, as {low, high}, or
   * null: the parser keeps it in the set as "PARTIAL low:high".
   */
  static long[] partial(Set<String> returns) {
    for (String o : returns) {
      if (o.startsWith("PARTIAL ")) {
        int c = o.indexOf(':');
        return new long[] {Long.parseLong(o.substring(8, c)), Long.parseLong(o.substring(c + 1))};
      }
    }
    return null;
  }

  /** RFC 5256 §4: THREAD (UID THREAD when {@code uid}) by ORDEREDSUBJECT or REFERENCES. */
  record ThreadMessages(String tag, boolean uid, String algorithm, SearchKey key) implements ImapCommand {}

  record Fetch(String tag, boolean uid, SeqSet set, List<FetchItem> items, Long changedSince, boolean vanished)
      implements ImapCommand {}

  enum StoreOp { REPLACE, ADD, REMOVE }

  record Store(String tag, boolean uid, SeqSet set, StoreOp op, boolean silent, List<String> flags,
      Long unchangedSince) implements ImapCommand {}

  /** REPLACE / UID REPLACE (RFC 8508 §3.1): append {@code message} to {@code mailbox}, expunge {@code number}. */
  record Replace(String tag, boolean uid, long number, String mailbox, AppendMessage message)
      implements ImapCommand {}

  /** COPY, or MOVE (RFC 6851) when {@code move}. */
  record Copy(String tag, boolean uid, SeqSet set, String mailbox, boolean move) implements ImapCommand {}
}
