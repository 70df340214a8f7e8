package org.darwinmail.imap;

import java.time.LocalDate;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.darwinmail.imap.FetchItem.Section;
import org.darwinmail.imap.FetchItem.Spec;
import org.darwinmail.imap.ImapCommand.*;

/**
 * Turns one command (text segments and literals) into an {@link ImapCommand}, with no I/O (STYLE.md: parsers apart
 * from servers). Grammar: RFC 3501 §9 and the extensions' ABNF.
 */
public final class ImapParser {
  private static final int MAX_DEPTH = 50;
  private static final int MAX_ITEMS = 1000;
  // RFC 3501 §9 / RFC 5234 §2.3: date-month is a quoted string in ABNF, so "mar" and "MAR" are "Mar"
  static final DateTimeFormatter DATE_TIME = new java.time.format.DateTimeFormatterBuilder().parseCaseInsensitive()
      .appendPattern("d-MMM-yyyy HH:mm:ss Z").toFormatter(Locale.ROOT);
  static final DateTimeFormatter DATE = new java.time.format.DateTimeFormatterBuilder().parseCaseInsensitive()
      .appendPattern("d-MMM-yyyy").toFormatter(Locale.ROOT);

  private final ImapReader r;
  private final boolean utf8;
  private int searchKeys; // in this command, nested ones included: each costs a pass over the mailbox (issue 23)
  private String tag;

  private ImapParser(List<Object> parts, boolean utf8) {
    this.r = new ImapReader(parts);
    this.utf8 = utf8;
  }

  /** The tag of a command line, or null when it has none usable (for BAD replies to junk). */
  public static String tagOf(String line) {
    int sp = line.indexOf(' ');
    String t = sp < 0 ? line : line.substring(0, sp);
    return validTag(t) ? t : null;
  }

  static boolean validTag(String t) {
    if (t.isEmpty() || t.length() > 64) {
      return false;
    }
    for (char c : t.toCharArray()) {
      if (c <= ' ' || c >= 0x7f || "(){%*\"\\+".indexOf(c) >= 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Parses a command; throws {@link ImapException} BAD for malformed input (the tag is {@link #tagOf} of the first
   * segment).
   */
  public static ImapCommand parse(List<Object> parts, boolean utf8) {
    return new ImapParser(parts, utf8).command();
  }

  private ImapCommand command() {
    tag = r.atom(true);
    if (!validTag(tag)) {
      throw ImapException.bad("Invalid tag");
    }
    if (!r.tryChar(' ')) {
      throw ImapException.bad("Missing command");
    }
    String name = r.upperAtom();
    ImapCommand c = switch (name) {
      case "CAPABILITY" -> new Capability(tag);
      case "NOOP" -> new Noop(tag);
      case "LOGOUT" -> new Logout(tag);
      case "STARTTLS" -> new StartTls(tag);
      case "ID" -> id();
      case "AUTHENTICATE" -> {
        r.sp();
        String mech = r.upperAtom();
        String initial = r.tryChar(' ') ? r.atom(true) : null;
        yield new Authenticate(tag, mech, initial);
      }
      case "LOGIN" -> {
        r.sp();
        String u = r.astring();
        r.sp();
        yield new Login(tag, u, r.astring());
      }
      case "ENABLE" -> {
        List<String> caps = new ArrayList<>();
        while (r.tryChar(' ')) {
          caps.add(r.upperAtom());
        }
        if (caps.isEmpty()) {
          throw ImapException.bad("ENABLE needs at least one capability");
        }
        yield new Enable(tag, caps);
      }
      case "SELECT", "EXAMINE" -> select(name.equals("EXAMINE"));
      case "CREATE" -> create();
      case "DELETE" -> new Delete(tag, mailboxArg());
      case "RENAME" -> {
        String from = mailboxArg();
        yield new Rename(tag, from, mailboxArg());
      }
      case "SUBSCRIBE" -> new Subscribe(tag, mailboxArg(), true);
      case "UNSUBSCRIBE" -> new Subscribe(tag, mailboxArg(), false);
      case "LIST" -> list(false);
      case "LSUB" -> list(true);
      case "NAMESPACE" -> new Namespace(tag);
      case "STATUS" -> status();
      case "APPEND" -> append();
      case "IDLE" -> new Idle(tag);
      case "NOTIFY" -> notifyCommand();
      case "GETQUOTA" -> {
        r.sp();
        yield new GetQuota(tag, r.astring());
      }
      case "GETQUOTAROOT" -> new GetQuotaRoot(tag, mailboxArg());
      case "SETQUOTA" -> setQuota();
      case "COMPRESS" -> {
        r.sp();
        yield new Compress(tag, r.upperAtom());
      }
      case "RESETKEY" -> resetKey();
      case "GENURLAUTH" -> genUrlAuth();
      case "URLFETCH" -> urlFetch();
      case "CHECK" -> new Check(tag);
      case "CLOSE" -> new Close(tag);
      case "UNSELECT" -> new Unselect(tag);
      case "EXPUNGE" -> new Expunge(tag, null);
      case "SEARCH" -> search(false);
      case "SORT" -> sort(false);
      case "THREAD" -> thread(false);
      case "CANCELUPDATE" -> cancelUpdate();
      case "FETCH" -> fetch(false);
      case "STORE" -> store(false);
      case "COPY" -> copy(false, false);
      case "MOVE" -> copy(false, true);
      case "REPLACE" -> replace(false);
      case "UID" -> {
        r.sp();
        String sub = r.upperAtom();
        yield switch (sub) {
          case "FETCH" -> fetch(true);
          case "STORE" -> store(true);
          case "SEARCH" -> search(true);
          case "SORT" -> sort(true);
          case "THREAD" -> thread(true);
          case "COPY" -> copy(true, false);
          case "MOVE" -> copy(true, true);
          case "REPLACE" -> replace(true);
          case "EXPUNGE" -> {
            r.sp();
            yield new Expunge(tag, r.seqSet());
          }
          default -> throw ImapException.bad("Unknown UID command");
        };
      }
      default -> throw ImapException.bad("Unknown command");
    };
    r.end();
    return c;
  }

  /** URLs in one GENURLAUTH or URLFETCH (RFC 4467 sets no bound; this one keeps the parser bounded). */
  static final int MAX_URLS = 100;

  // RFC 4467 §9: resetkey = "RESETKEY" [SP mailbox *(SP mechanism)]
  private ImapCommand resetKey() {
    if (!r.tryChar(' ')) {
      return new ResetKey(tag, null, List.of());
    }
    String mbox = mailbox(r.astring());
    List<String> mechs = new ArrayList<>();
    while (r.tryChar(' ')) {
      if (mechs.size() == MAX_URLS) {
        throw ImapException.bad("Too many mechanisms");
      }
      mechs.add(r.upperAtom());
    }
    return new ResetKey(tag, mbox, mechs);
  }

  // RFC 4467 §9: genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism); url-rump = astring
  private ImapCommand genUrlAuth() {
    List<String> urls = new ArrayList<>();
    List<String> mechs = new ArrayList<>();
    while (r.tryChar(' ')) {
      if (urls.size() == MAX_URLS) {
        throw ImapException.bad("Too many URLs (at most " + MAX_URLS + ")");
      }
      urls.add(r.astring());
      r.sp();
      mechs.add(r.upperAtom());
    }
    if (urls.isEmpty()) {
      throw ImapException.bad("GENURLAUTH url mechanism");
    }
    return new GenUrlAuth(tag, urls, mechs);
  }

  // RFC 4467 §9: urlfetch = "URLFETCH" 1*(SP astring)
  private ImapCommand urlFetch() {
    List<String> urls = new ArrayList<>();
    while (r.tryChar(' ')) {
      if (urls.size() == MAX_URLS) {
        throw ImapException.bad("Too many URLs (at most " + MAX_URLS + ")");
      }
      urls.add(r.astring());
    }
    if (urls.isEmpty()) {
      throw ImapException.bad("URLFETCH url");
    }
    return new UrlFetch(tag, urls);
  }

  /** The event names of RFC 5465 §5 (RFC 5423), by their upper-case form: event atoms are case-insensitive. */
  private static final Map<String, String> NOTIFY_EVENTS = new java.util.HashMap<>();

  static {
    for (String e : List.of("MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange", "MailboxName",
        "SubscriptionChange", "MailboxMetadataChange", "ServerMetadataChange")) {
      NOTIFY_EVENTS.put(e.toUpperCase(Locale.ROOT), e);
    }
  }

  /** Event groups and mailbox names in one NOTIFY (RFC 5465 §8 sets no bound; this one keeps the parser bounded). */
  static final int MAX_NOTIFY_NAMES = 1000;

  /**
   * RFC 5465 §8: notify = "NOTIFY" SP (notify-set / notify-none); notify-set = "SET" [SP "STATUS"] SP event-groups;
   * event-group = "(" filter-mailboxes SP events ")"; events = ("(" event *(SP event) ")") / "NONE".
   */
  private ImapCommand notifyCommand() {
    r.sp();
    if (r.tryWord("NONE")) {
      return new Notify(tag, false, List.of());
    }
    if (!r.tryWord("SET")) {
      throw ImapException.bad("NOTIFY SET or NOTIFY NONE");
    }
    r.sp();
    boolean status = r.tryWord("STATUS");
    if (status) {
      r.sp();
    }
    List<NotifyGroup> groups = new ArrayList<>();
    int names = 0;
    boolean selected = false;
    do {
      NotifyGroup g = notifyGroup();
      names += 1 + g.mailboxes().size();
      if (names > MAX_NOTIFY_NAMES) {
        throw ImapException.bad("Too many event groups or mailbox names in NOTIFY");
      }
      if (g.selected()) {
        // RFC 5465 §6: one of "selected" and "selected-delayed", once: the selected mailbox has one behaviour
        if (selected) {
          throw ImapException.bad("selected or selected-delayed may be given once");
        }
        selected = true;
      }
      groups.add(g);
    } while (r.tryChar(' '));
    return new Notify(tag, status, List.copyOf(groups));
  }

  private NotifyGroup notifyGroup() {
    r.expect('(');
    String f = r.upperAtom();
    NotifyFilter filter = switch (f) {
      case "SELECTED" -> NotifyFilter.SELECTED;
      case "SELECTED-DELAYED" -> NotifyFilter.SELECTED_DELAYED;
      case "INBOXES" -> NotifyFilter.INBOXES;
      case "PERSONAL" -> NotifyFilter.PERSONAL;
      case "SUBSCRIBED" -> NotifyFilter.SUBSCRIBED;
      case "SUBTREE" -> NotifyFilter.SUBTREE;
      case "MAILBOXES" -> NotifyFilter.MAILBOXES;
      default -> throw ImapException.bad("Unknown NOTIFY mailbox filter " + f);
    };
    List<String> boxes = new ArrayList<>();
    r.sp();
    if (filter == NotifyFilter.SUBTREE || filter == NotifyFilter.MAILBOXES) {
      // one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"
      if (r.tryChar('(')) {
        do {
          boxes.add(mailbox(r.astring()));
          if (boxes.size() > MAX_NOTIFY_NAMES) {
            throw ImapException.bad("Too many mailbox names in NOTIFY");
          }
        } while (r.tryChar(' '));
        r.expect(')');
      } else {
        boxes.add(mailbox(r.astring()));
      }
      r.sp();
    }
    Set<String> events = null;
    List<FetchItem> items = List.of();
    if (!r.tryWord("NONE")) {
      events = new LinkedHashSet<>();
      r.expect('(');
      String last = null;
      while (true) {
        if (r.peek() == '(' && "MessageNew".equals(last) && items.isEmpty()) {
          items = notifyFetchItems(); // message-event = "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]
        } else {
          String e = r.atom();
          last = NOTIFY_EVENTS.getOrDefault(e.toUpperCase(Locale.ROOT), e);
          events.add(last);
          if (events.size() > 20) {
            throw ImapException.bad("Too many NOTIFY events");
          }
        }
        if (r.tryChar(')')) {
          break;
        }
        r.sp();
      }
      notifyEventRules(filter, events);
    }
    r.expect(')');
    return new NotifyGroup(filter, List.copyOf(boxes), events == null ? null : Set.copyOf(events), items);
  }

  /** MessageNew's fetch-att list, each BODY[...] as BODY.PEEK[...] (the notification does not set \Seen). */
  private List<FetchItem> notifyFetchItems() {
    r.expect('(');
    List<FetchItem> items = new ArrayList<>();
    do {
      FetchItem i = fetchItem();
      if (i instanceof FetchItem.Section x && !x.peek()) {
        i = new FetchItem.Section(x.label(), true, x.binary(), x.sizeOnly(), x.path(), x.spec(), x.fields(),
            x.partial());
      }
      items.add(i);
      if (items.size() > 100) {
        throw ImapException.bad("Too many FETCH items");
      }
    } while (r.tryChar(' '));
    r.expect(')');
    return List.copyOf(items);
  }

  /** The BAD rules of RFC 5465 §5 and §6 on one group's event list. */
  private static void notifyEventRules(NotifyFilter filter, Set<String> events) {
    boolean fresh = events.contains("MessageNew");
    boolean expunge = events.contains("MessageExpunge");
    // §5: MessageNew and MessageExpunge are asked for together, or the command is BAD
    if (fresh != expunge) {
      throw ImapException.bad("MessageNew and MessageExpunge go together");
    }
    // §5: FlagChange and AnnotationChange only with MessageNew and MessageExpunge
    if ((events.contains("FlagChange") || events.contains("AnnotationChange")) && !fresh) {
      throw ImapException.bad("FlagChange and AnnotationChange need MessageNew and MessageExpunge");
    }
    // §6: only message events apply to the selected mailbox
    if ((filter == NotifyFilter.SELECTED || filter == NotifyFilter.SELECTED_DELAYED) && events.stream().anyMatch(
        e -> e.equals("MailboxName") || e.equals("SubscriptionChange") || e.equals("MailboxMetadataChange")
            || e.equals("ServerMetadataChange"))) {
      throw ImapException.bad("Only message events apply to the selected mailbox");
    }
  }

  private String mailboxArg() {
    r.sp();
    return mailbox(r.astring());
  }

  private String mailbox(String wire) {
    return MailboxNames.fromWire(wire, utf8);
  }

  // RFC 2971 §3.1: id-params-list = "(" *(string SP nstring) ")" / nil
  private ImapCommand id() {
    r.sp();
    Map<String, String> m = new LinkedHashMap<>();
    if (r.tryWord("NIL")) {
      return new Id(tag, m);
    }
    r.expect('(');
    while (!r.tryChar(')')) {
      if (!m.isEmpty()) {
        r.sp();
      }
      String k = r.string();
      r.sp();
      String v = r.nstring();
      if (m.size() < 30) {
        m.put(k, v);
      }
    }
    return new Id(tag, m);
  }

  // RFC 7162 §3.2.5 / §3.1.8: select-param = "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence [...] ")"
  private ImapCommand select(boolean readOnly) {
    String mbox = mailboxArg();
    boolean condstore = false;
    Qresync q = null;
    if (r.tryChar(' ')) {
      r.expect('(');
      while (!r.tryChar(')')) {
        if (condstore || q != null) {
          r.sp();
        }
        String p = r.upperAtom();
        if (p.equals("CONDSTORE")) {
          condstore = true;
        } else if (p.equals("QRESYNC")) {
          r.sp();
          r.expect('(');
          long validity = r.nzNumber();
          r.sp();
          long modseq = r.number();
          SeqSet known = null;
          if (r.tryChar(' ')) {
            if (r.peek() != '(') {
              known = r.seqSet();
              r.tryChar(' ');
            }
            if (r.tryChar('(')) { // seq-match-data: accepted, not needed with a small mailbox
              r.seqSet();
              r.sp();
              r.seqSet();
              r.expect(')');
            }
          }
          r.expect(')');
          q = new Qresync(validity, modseq, known);
          condstore = true;
        } else {
          throw ImapException.bad("Unknown SELECT parameter " + p);
        }
      }
    }
    return new Select(tag, mbox, readOnly, condstore, q);
  }

  // RFC 6154 §6: create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"; use-attr = "\\All" / ... /
  // use-attr-ext ("\\" atom). Which uses a mailbox may have is the handler's business (USEATTR).
  private ImapCommand create() {
    String mbox = mailboxArg();
    List<String> uses = new ArrayList<>();
    if (r.tryChar(' ')) {
      r.expect('(');
      if (!r.tryWord("USE")) {
        throw ImapException.bad("Unknown CREATE parameter");
      }
      r.sp();
      r.expect('(');
      if (!r.tryChar(')')) {
        do {
          uses.add(useAttr());
          if (uses.size() > 20) {
            throw ImapException.bad("Too many special uses");
          }
        } while (r.tryChar(' '));
        r.expect(')');
      }
      r.expect(')');
    }
    if (mbox.endsWith("/")) {
      mbox = mbox.substring(0, mbox.length() - 1);
    }
    return new Create(tag, mbox, List.copyOf(uses));
  }

  private String useAttr() {
    if (r.peek() != '\\') {
      throw ImapException.bad("A special use starts with \\");
    }
    String a = r.atom();
    if (a.length() < 2) {
      throw ImapException.bad("Empty special use");
    }
    return a;
  }

  // RFC 9208 §7: setquota = "SETQUOTA" SP quota-root-name SP setquota-list;
  // setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"; setquota-resource = resource-name SP
  // resource-limit; resource-limit = number64; resource-name = atom (the registered names and extensions)
  private ImapCommand setQuota() {
    r.sp();
    String root = r.astring();
    r.sp();
    r.expect('(');
    Map<String, Long> limits = new LinkedHashMap<>();
    if (!r.tryChar(')')) {
      do {
        String name = r.upperAtom();
        r.sp();
        long limit = r.number();
        if (limits.put(name, limit) != null) {
          throw ImapException.bad("Resource " + name + " given twice");
        }
        if (limits.size() > 20) {
          throw ImapException.bad("Too many resources");
        }
      } while (r.tryChar(' '));
      r.expect(')');
    }
    return new SetQuota(tag, root, limits);
  }

  // RFC 5258 §6: list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
  private ImapCommand list(boolean lsub) {
    r.sp();
    Set<String> selection = new LinkedHashSet<>();
    if (!lsub && r.tryChar('(')) {
      while (!r.tryChar(')')) {
        r.tryChar(' ');
        selection.add(r.upperAtom());
      }
      r.sp();
    }
    // an empty reference sent bare ("LIST  *"), as Python's imaplib does with list(''), is taken as ""
    String ref = r.peek() == ' ' ? "" : mailbox(r.astring());
    r.sp();
    List<String> patterns = new ArrayList<>();
    if (!lsub && r.tryChar('(')) {
      while (!r.tryChar(')')) {
        r.tryChar(' ');
        patterns.add(mailbox(r.listMailbox()));
      }
    } else {
      patterns.add(mailbox(r.listMailbox()));
    }
    Set<String> returns = new LinkedHashSet<>();
    List<String> status = new ArrayList<>();
    if (!lsub && r.tryChar(' ')) {
      if (!r.tryWord("RETURN")) {
        throw ImapException.bad("Expected RETURN");
      }
      r.sp();
      r.expect('(');
      while (!r.tryChar(')')) {
        r.tryChar(' ');
        String o = r.upperAtom();
        returns.add(o);
        if (o.equals("STATUS")) {
          r.sp();
          status.addAll(statusItems());
        }
      }
    }
    return new ListMailboxes(tag, ref, patterns, lsub, selection, returns, status);
  }

  // RFC 9051 §9 / RFC 3501 §9: "(" status-att *(SP status-att) ")", at least one item, also in LIST's RETURN
  // (STATUS ...) (RFC 5819 §4); DELETED-STORAGE from RFC 9208 §7, SIZE from RFC 8438 (its formal syntax)
  private List<String> statusItems() {
    List<String> items = new ArrayList<>();
    r.expect('(');
    if (r.peek() == ')') {
      throw ImapException.bad("STATUS needs at least one item");
    }
    do {
      String i = r.upperAtom();
      if (!Set.of("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED",
          "DELETED-STORAGE", "MAILBOXID")
          .contains(i)) {
        throw ImapException.bad("Unknown STATUS item " + i);
      }
      items.add(i);
      if (items.size() > 20) {
        throw ImapException.bad("Too many STATUS items");
      }
    } while (r.tryChar(' '));
    r.expect(')');
    return items;
  }

  private ImapCommand status() {
    String mbox = mailboxArg();
    r.sp();
    return new Status(tag, mbox, statusItems());
  }

  // RFC 3501 §6.3.11: append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
  // (RFC 3516 literal8 and the RFC 6855 UTF8 form too); RFC 3502 §6.3.11 (MULTIAPPEND): 1*append-message, each
  // append-message = append-opts SP append-data, so several messages follow one mailbox
  private ImapCommand append() {
    String mbox = mailboxArg();
    List<AppendMessage> messages = new ArrayList<>();
    do {
      r.sp();
      messages.add(appendMessage());
    } while (r.peek() == ' ');
    return new Append(tag, mbox, List.copyOf(messages));
  }

  /** append-opts SP append-data: [flag-list SP] [date-time SP] literal (or literal8, or UTF8 (literal8)). */
  private AppendMessage appendMessage() {
    List<String> flags = List.of();
    if (r.peek() == '(') {
      flags = flagList();
      r.sp();
    }
    java.time.Instant date = null;
    if (r.peek() == '"') {
      date = dateTime(r.string());
      r.sp();
    }
    // RFC 4469 §5: append-data =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")"
    if (r.tryWord("CATENATE")) {
      r.sp();
      return new AppendMessage(flags, date, null, catParts());
    }
    // RFC 6855 §4 (UTF8=ACCEPT): append-data =/ "UTF8" SP "(" literal8 ")", a message with UTF-8 headers.
    boolean utf8Data = r.tryWord("UTF8");
    if (utf8Data) {
      r.sp();
      r.expect('(');
    }
    r.tryChar('~'); // literal8 (RFC 3516 §4.4, BINARY): the bytes are taken as they are either way
    if (r.peek() != ImapReader.LITERAL) {
      throw ImapException.bad("APPEND needs the message as a literal");
    }
    ImapLiteral message = r.literal();
    if (utf8Data) {
      r.expect(')');
    }
    return new AppendMessage(flags, date, message);
  }

  /** At most this many parts in one CATENATE (each URL is a store read; literals are bounded by the session too). */
  static final int MAX_CAT_PARTS = 100;

  /**
   * RFC 4469 §5: "(" cat-part *(SP cat-part) ")", cat-part = text-literal / url, text-literal = "TEXT" SP literal
   * (literal8 taken too, as for APPEND: RFC 3516 §4.4), url = "URL" SP astring.
   */
  private List<CatPart> catParts() {
    r.expect('(');
    List<CatPart> parts = new ArrayList<>();
    do {
      if (parts.size() == MAX_CAT_PARTS) {
        throw ImapException.bad("Too many CATENATE parts (at most " + MAX_CAT_PARTS + ")");
      }
      if (r.tryWord("TEXT")) {
        r.sp();
        r.tryChar('~');
        if (r.peek() != ImapReader.LITERAL) {
          throw ImapException.bad("CATENATE TEXT needs a literal");
        }
        parts.add(new CatText(r.literal()));
      } else if (r.tryWord("URL")) {
        r.sp();
        String url = r.astring();
        if (url.isEmpty()) {
          throw ImapException.bad("Empty CATENATE URL");
        }
        parts.add(new CatUrl(url));
      } else {
        throw ImapException.bad("Expected TEXT or URL in CATENATE");
      }
    } while (r.tryChar(' '));
    r.expect(')');
    return List.copyOf(parts);
  }

  // RFC 8508 §6: replace = "REPLACE" SP seq-number SP mailbox append-message; uid-replace = "UID" SP replace
  // (one message: REPLACE takes no MULTIAPPEND, §3.1)
  private ImapCommand replace(boolean uid) {
    r.sp();
    long n = r.nzNumber();
    String mbox = mailboxArg();
    r.sp();
    return new Replace(tag, uid, n, mbox, appendMessage());
  }

  static java.time.Instant dateTime(String s) {
    try {
      return ZonedDateTime.parse(s.strip(), DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      throw ImapException.bad("Bad date-time");
    }
  }

  private List<String> flagList() {
    List<String> flags = new ArrayList<>();
    r.expect('(');
    while (!r.tryChar(')')) {
      r.tryChar(' ');
      flags.add(flag());
      if (flags.size() > 100) {
        throw ImapException.bad("Too many flags");
      }
    }
    return flags;
  }

  private String flag() {
    String f = r.atom();
    if (f.startsWith("\\")) {
      String n = f.substring(1).toLowerCase(Locale.ROOT);
      if (!Set.of("seen", "answered", "flagged", "deleted", "draft", "recent").contains(n)) {
        throw ImapException.bad("Unknown system flag " + f);
      }
    } else if (f.contains("*") || f.contains("%") || f.contains("]") || f.contains("\\") || f.length() > 100) {
      throw ImapException.bad("Bad keyword " + f);
    }
    return f;
  }

  // ---- FETCH (RFC 3501 §6.4.5, RFC 7162 §3.1.4 CHANGEDSINCE, §3.2.6 VANISHED) ----

  private ImapCommand fetch(boolean uid) {
    r.sp();
    SeqSet set = r.seqSet();
    r.sp();
    List<FetchItem> items = new ArrayList<>();
    if (r.tryChar('(')) {
      while (!r.tryChar(')')) {
        r.tryChar(' ');
        items.add(fetchItem());
        if (items.size() > 100) {
          throw ImapException.bad("Too many FETCH items");
        }
      }
    } else if (r.tryWord("ALL")) {
      items.addAll(List.of(new FetchItem.Flags(), new FetchItem.InternalDate(), new FetchItem.Rfc822Size(),
          new FetchItem.Envelope()));
    } else if (r.tryWord("FAST")) {
      items.addAll(List.of(new FetchItem.Flags(), new FetchItem.InternalDate(), new FetchItem.Rfc822Size()));
    } else if (r.tryWord("FULL")) {
      items.addAll(List.of(new FetchItem.Flags(), new FetchItem.InternalDate(), new FetchItem.Rfc822Size(),
          new FetchItem.Envelope(), new FetchItem.Structure(false)));
    } else {
      items.add(fetchItem());
    }
    Long changedSince = null;
    boolean vanished = false;
    if (r.tryChar(' ')) {
      r.expect('(');
      while (!r.tryChar(')')) {
        r.tryChar(' ');
        String m = r.upperAtom();
        if (m.equals("CHANGEDSINCE")) {
          r.sp();
          changedSince = r.number();
        } else if (m.equals("VANISHED") && uid) {
          vanished = true;
        } else {
          throw ImapException.bad("Unknown FETCH modifier " + m);
        }
      }
      if (vanished && changedSince == null) {
        throw ImapException.bad("VANISHED needs CHANGEDSINCE");
      }
    }
    if (uid && items.stream().noneMatch(i -> i instanceof FetchItem.Uid)) {
      items.add(0, new FetchItem.Uid()); // RFC 3501 §6.4.8: UID FETCH always returns UID
    }
    if (changedSince != null && items.stream().noneMatch(i -> i instanceof FetchItem.ModSeq)) {
      items.add(new FetchItem.ModSeq()); // RFC 7162 §3.1.4.1
    }
    return new Fetch(tag, uid, set, items, changedSince, vanished);
  }

  private FetchItem fetchItem() {
    String name = r.atom().toUpperCase(Locale.ROOT);
    switch (name) {
      case "FLAGS":
        return new FetchItem.Flags();
      case "UID":
        return new FetchItem.Uid();
      case "INTERNALDATE":
        return new FetchItem.InternalDate();
      case "RFC822.SIZE":
        return new FetchItem.Rfc822Size();
      case "ENVELOPE":
        return new FetchItem.Envelope();
      case "BODYSTRUCTURE":
        return new FetchItem.Structure(true);
      case "MODSEQ":
        return new FetchItem.ModSeq();
      case "SAVEDATE": // RFC 8514 §4.1
        return new FetchItem.SaveDate();
      case "EMAILID": // RFC 8474 §5.1
        return new FetchItem.EmailId();
      case "THREADID": // RFC 8474 §5.2
        return new FetchItem.ThreadId();
      case "PREVIEW": // RFC 8970 §3: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"], preview-mod = "LAZY"
        return new FetchItem.Preview(r.tryWord(" (LAZY)"));
      case "RFC822":
        return new Section("RFC822", false, false, false, new int[0], Spec.ALL, List.of(), null);
      case "RFC822.HEADER":
        return new Section("RFC822.HEADER", true, false, false, new int[0], Spec.HEADER, List.of(), null);
      case "RFC822.TEXT":
        return new Section("RFC822.TEXT", false, false, false, new int[0], Spec.TEXT, List.of(), null);
      case "BODY":
        if (r.peek() != '[') {
          return new FetchItem.Structure(false);
        }
        return section("BODY", false, false, false);
      case "BODY.PEEK":
        return section("BODY", true, false, false);
      case "BINARY":
        return section("BINARY", false, true, false);
      case "BINARY.PEEK":
        return section("BINARY", true, true, false);
      case "BINARY.SIZE":
        return section("BINARY.SIZE", true, true, true);
      default:
        throw ImapException.bad("Unknown FETCH item " + name);
    }
  }

  // section = "[" [section-spec] "]"; section-spec = section-msgtext / (section-part ["." section-text])
  private Section section(String base, boolean peek, boolean binary, boolean sizeOnly) {
    r.expect('[');
    List<Integer> path = new ArrayList<>();
    Spec spec = Spec.ALL;
    List<String> fields = new ArrayList<>();
    StringBuilder label = new StringBuilder(base).append('[');
    while (Character.isDigit(r.peek())) {
      long n = r.nzNumber();
      if (n > 10_000 || path.size() > MAX_DEPTH) {
        throw ImapException.bad("Section part number out of range");
      }
      path.add((int) n);
      if (!r.tryChar('.')) {
        break;
      }
      if (!Character.isDigit(r.peek())) {
        spec = null; // a section-text follows
        break;
      }
    }
    for (int i = 0; i < path.size(); i++) {
      label.append(i > 0 ? "." : "").append(path.get(i));
    }
    if (spec == null || path.isEmpty() && r.peek() != ']') {
      if (binary) {
        throw ImapException.bad("BINARY takes part numbers only");
      }
      String s = r.atom().toUpperCase(Locale.ROOT);
      spec = switch (s) {
        case "HEADER" -> Spec.HEADER;
        case "HEADER.FIELDS" -> Spec.HEADER_FIELDS;
        case "HEADER.FIELDS.NOT" -> Spec.HEADER_FIELDS_NOT;
        case "TEXT" -> Spec.TEXT;
        case "MIME" -> {
          if (path.isEmpty()) {
            throw ImapException.bad("MIME needs a part number");
          }
          yield Spec.MIME;
        }
        default -> throw ImapException.bad("Unknown section " + s);
      };
      label.append(path.isEmpty() ? "" : ".").append(s);
      if (spec == Spec.HEADER_FIELDS || spec == Spec.HEADER_FIELDS_NOT) {
        r.sp();
        r.expect('(');
        while (!r.tryChar(')')) {
          r.tryChar(' ');
          fields.add(r.astring().toUpperCase(Locale.ROOT));
          if (fields.size() > 200) {
            throw ImapException.bad("Too many header fields");
          }
        }
        if (fields.isEmpty()) {
          throw ImapException.bad("Empty header field list");
        }
        label.append(" (").append(String.join(" ", fields)).append(')');
      }
    }
    r.expect(']');
    label.append(']');
    long[] partial = null;
    if (r.tryChar('<')) {
      if (sizeOnly) {
        throw ImapException.bad("BINARY.SIZE takes no partial");
      }
      long start = r.number();
      r.expect('.');
      long len = r.nzNumber();
      r.expect('>');
      partial = new long[] {start, len};
      label.append('<').append(start).append('>');
    }
    int[] p = path.stream().mapToInt(Integer::intValue).toArray();
    return new Section(label.toString(), peek, binary, sizeOnly, p, spec, List.copyOf(fields), partial);
  }

  // ---- STORE (RFC 3501 §6.4.6, RFC 7162 §3.1.3 UNCHANGEDSINCE) ----

  private ImapCommand store(boolean uid) {
    r.sp();
    SeqSet set = r.seqSet();
    r.sp();
    Long unchangedSince = null;
    if (r.tryChar('(')) {
      if (!r.tryWord("UNCHANGEDSINCE")) {
        throw ImapException.bad("Unknown STORE modifier");
      }
      r.sp();
      unchangedSince = r.number();
      r.expect(')');
      r.sp();
    }
    String item = r.upperAtom();
    StoreOp op = item.startsWith("+") ? StoreOp.ADD : item.startsWith("-") ? StoreOp.REMOVE : StoreOp.REPLACE;
    String base = op == StoreOp.REPLACE ? item : item.substring(1);
    boolean silent = base.equals("FLAGS.SILENT");
    if (!silent && !base.equals("FLAGS")) {
      throw ImapException.bad("Unknown STORE item " + item);
    }
    r.sp();
    List<String> flags;
    if (r.peek() == '(') {
      flags = flagList();
    } else {
      flags = new ArrayList<>();
      flags.add(flag());
      while (r.tryChar(' ')) {
        flags.add(flag());
      }
    }
    return new Store(tag, uid, set, op, silent, flags, unchangedSince);
  }

  private ImapCommand copy(boolean uid, boolean move) {
    r.sp();
    SeqSet set = r.seqSet();
    return new Copy(tag, uid, set, mailboxArg(), move);
  }

  // ---- SEARCH (RFC 3501 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES) and SORT (RFC 5256) ----

  // RFC 4466 §2.6 search-return-opts; RFC 4731 MIN MAX ALL COUNT, RFC 5182 SAVE, RFC 5267 §4 CONTEXT UPDATE and
  // PARTIAL (kept in the set as "PARTIAL low:high", low <= high: see ImapCommand.partial)
  private Set<String> searchReturn() {
    Set<String> returns = new LinkedHashSet<>();
    if (r.tryWord("RETURN")) {
      r.sp();
      r.expect('(');
      while (!r.tryChar(')')) {
        r.tryChar(' ');
        String o = r.upperAtom();
        if (o.equals("PARTIAL")) {
          r.sp();
          long a = r.nzNumber();
          r.expect(':');
          long b = r.nzNumber();
          if (ImapCommand.partial(returns) != null) {
            throw ImapException.bad("Only one PARTIAL"); // RFC 5267 §4.4
          }
          returns.add("PARTIAL " + Math.min(a, b) + ":" + Math.max(a, b));
          continue;
        }
        if (!Set.of("MIN", "MAX", "ALL", "COUNT", "SAVE", "CONTEXT", "UPDATE").contains(o)) {
          throw ImapException.bad("Unknown SEARCH return option " + o);
        }
        returns.add(o);
        if (returns.size() > 10) {
          throw ImapException.bad("Too many return options");
        }
      }
      if (returns.contains("ALL") && ImapCommand.partial(returns) != null) {
        throw ImapException.bad("PARTIAL conflicts with ALL"); // RFC 5267 §4.4
      }
      returns.remove("CONTEXT"); // §4.2: a hint, which changes no answer
      if (returns.isEmpty()) {
        returns.add("ALL");
      }
      r.sp();
    }
    return returns;
  }

  private void charset(String cs) {
    String c = cs.toUpperCase(Locale.ROOT);
    if (!c.equals("UTF-8") && !c.equals("US-ASCII")) {
      throw ImapException.no("BADCHARSET (US-ASCII UTF-8)", "Unsupported charset");
    }
  }

  private ImapCommand search(boolean uid) {
    r.sp();
    Set<String> returns = searchReturn();
    if (r.tryWord("CHARSET")) {
      r.sp();
      charset(r.astring());
      r.sp();
    }
    return new Search(tag, uid, returns, keys());
  }

  private ImapCommand sort(boolean uid) {
    r.sp();
    Set<String> returns = searchReturn();
    List<SortKey> criteria = new ArrayList<>();
    r.expect('(');
    boolean reverse = false;
    while (!r.tryChar(')')) {
      r.tryChar(' ');
      String k = r.upperAtom();
      if (k.equals("REVERSE")) {
        reverse = true;
        continue;
      }
      // RFC 5957 §4 (SORT=DISPLAY): DISPLAYFROM and DISPLAYTO beside RFC 5256's keys
      if (!Set.of("ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO")
          .contains(k)) {
        throw ImapException.bad("Unknown sort criterion " + k);
      }
      criteria.add(new SortKey(k, reverse));
      reverse = false;
    }
    if (criteria.isEmpty() || reverse) {
      throw ImapException.bad("Bad sort criteria");
    }
    r.sp();
    charset(r.astring());
    r.sp();
    return new Sort(tag, uid, returns, criteria, keys());
  }

  // RFC 5267 §5: command-select =/ "CANCELUPDATE" 1*(SP quoted)
  private ImapCommand cancelUpdate() {
    List<String> tags = new ArrayList<>();
    while (r.tryChar(' ')) {
      if (r.peek() != '"') {
        throw ImapException.bad("CANCELUPDATE takes quoted tags");
      }
      tags.add(r.string());
      if (tags.size() > Contexts.MAX * 10) {
        throw ImapException.bad("Too many tags");
      }
    }
    if (tags.isEmpty()) {
      throw ImapException.bad("CANCELUPDATE needs a tag");
    }
    return new CancelUpdate(tag, tags);
  }

  // RFC 5256 §4 / §5: thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
  private ImapCommand thread(boolean uid) {
    r.sp();
    String alg = r.upperAtom();
    if (!alg.equals("ORDEREDSUBJECT") && !alg.equals("REFERENCES")) {
      throw ImapException.bad("Unknown threading algorithm " + alg);
    }
    r.sp();
    charset(r.astring());
    r.sp();
    return new ThreadMessages(tag, uid, alg, keys());
  }

  private SearchKey keys() {
    List<SearchKey> all = new ArrayList<>();
    all.add(key(0));
    while (r.tryChar(' ')) {
      all.add(key(0));
      if (all.size() > MAX_ITEMS) {
        throw ImapException.bad("Too many search keys");
      }
    }
    return all.size() == 1 ? all.get(0) : new SearchKey.And(all);
  }

  private SearchKey key(int depth) {
    if (depth > MAX_DEPTH) {
      throw ImapException.bad("Search keys nested too deep");
    }
    if (++searchKeys > MAX_ITEMS) {
      throw ImapException.bad("Too many search keys");
    }
    if (r.tryChar('(')) {
      List<SearchKey> l = new ArrayList<>();
      l.add(key(depth + 1));
      while (r.tryChar(' ')) {
        l.add(key(depth + 1));
      }
      r.expect(')');
      return l.size() == 1 ? l.get(0) : new SearchKey.And(l);
    }
    char c = r.peek();
    if (Character.isDigit(c) || c == '*' || c == '$') {
      return new SearchKey.Seqs(r.seqSet());
    }
    String k = r.upperAtom();
    return switch (k) {
      case "ALL" -> new SearchKey.All();
      case "ANSWERED" -> new SearchKey.Flag(org.darwinmail.store.Flags.ANSWERED, true);
      case "DELETED" -> new SearchKey.Flag(org.darwinmail.store.Flags.DELETED, true);
      case "DRAFT" -> new SearchKey.Flag(org.darwinmail.store.Flags.DRAFT, true);
      case "FLAGGED" -> new SearchKey.Flag(org.darwinmail.store.Flags.FLAGGED, true);
      case "SEEN" -> new SearchKey.Flag(org.darwinmail.store.Flags.SEEN, true);
      case "UNANSWERED" -> new SearchKey.Flag(org.darwinmail.store.Flags.ANSWERED, false);
      case "UNDELETED" -> new SearchKey.Flag(org.darwinmail.store.Flags.DELETED, false);
      case "UNDRAFT" -> new SearchKey.Flag(org.darwinmail.store.Flags.DRAFT, false);
      case "UNFLAGGED" -> new SearchKey.Flag(org.darwinmail.store.Flags.FLAGGED, false);
      case "UNSEEN" -> new SearchKey.Flag(org.darwinmail.store.Flags.SEEN, false);
      case "RECENT" -> new SearchKey.Recent(true);
      case "OLD" -> new SearchKey.Recent(false);
      case "NEW" -> new SearchKey.And(List.of(new SearchKey.Recent(true),
          new SearchKey.Flag(org.darwinmail.store.Flags.SEEN, false)));
      case "KEYWORD", "UNKEYWORD" -> {
        r.sp();
        yield new SearchKey.Keyword(r.atom(), k.equals("KEYWORD"));
      }
      case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE" -> {
        r.sp();
        boolean sent = k.startsWith("SENT");
        String op = sent ? k.substring(4) : k;
        yield new SearchKey.Date(SearchKey.DateOp.valueOf(op), date(r.astring()), sent);
      }
      case "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE" -> { // RFC 8514 §4.2
        r.sp();
        yield new SearchKey.SaveDate(SearchKey.DateOp.valueOf(k.substring(5)), date(r.astring()));
      }
      case "SAVEDATESUPPORTED" -> new SearchKey.SaveDateSupported();
      case "EMAILID", "THREADID" -> { // RFC 8474 §6: objectid = 1*255(ALPHA / DIGIT / "_" / "-")
        r.sp();
        String id = r.atom();
        if (id.length() > 255 || !id.chars().allMatch(ch -> ch < 0x80 && (Character.isLetterOrDigit(ch)
            || ch == '_' || ch == '-'))) {
          throw ImapException.bad("Bad objectid");
        }
        yield new SearchKey.ObjectId(k.equals("EMAILID"), id);
      }
      case "LARGER", "SMALLER" -> {
        r.sp();
        yield new SearchKey.Size(k.equals("LARGER"), r.number());
      }
      case "FROM", "TO", "CC", "BCC", "SUBJECT" -> {
        r.sp();
        yield new SearchKey.Header(k, r.astring());
      }
      case "HEADER" -> {
        r.sp();
        String f = r.astring();
        r.sp();
        yield new SearchKey.Header(f.toUpperCase(Locale.ROOT), r.astring());
      }
      case "BODY" -> {
        r.sp();
        yield new SearchKey.Text(r.astring(), false);
      }
      case "TEXT" -> {
        r.sp();
        yield new SearchKey.Text(r.astring(), true);
      }
      case "UID" -> {
        r.sp();
        yield new SearchKey.Uids(r.seqSet());
      }
      case "NOT" -> {
        r.sp();
        yield new SearchKey.Not(key(depth + 1));
      }
      case "OR" -> {
        r.sp();
        SearchKey a = key(depth + 1);
        r.sp();
        yield new SearchKey.Or(a, key(depth + 1));
      }
      case "MODSEQ" -> {
        r.sp();
        if (r.peek() == '"') { // entry-name SP entry-type-req: metadata is ignored
          r.string();
          r.sp();
          r.atom();
          r.sp();
        }
        yield new SearchKey.ModSeq(r.number());
      }
      default -> throw ImapException.bad("Unknown search key " + k);
    };
  }

  static LocalDate date(String s) {
    try {
      return LocalDate.parse(s, DATE);
    } catch (DateTimeParseException e) {
      throw ImapException.bad("Bad date (expected d-Mon-yyyy)");
    }
  }
}
