package org.darwinmail.imap;

import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.darwinmail.auth.Sasl;
import org.darwinmail.guard.Logins;
import org.darwinmail.imap.ImapCommand.*;
import org.darwinmail.net.Frames;
import org.darwinmail.net.Session;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Flags;
import org.darwinmail.store.MailStore;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MailboxEvents;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.RefusedException;
import org.darwinmail.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One IMAP connection (RFC 3501 IMAP4rev1 and RFC 9051 IMAP4rev2, with the extensions in {@link #capabilities}).
 * Commands arrive whole (text and literals) from {@link ImapFramer}; the state table {@link #allowed} is checked once
 * before the one switch that dispatches them. Handlers of the selected state live in {@link SelectedCommands}.
 */
public final class ImapSession extends Session {
  private static final Logger log = LoggerFactory.getLogger(ImapSession.class);
  private static final int MAX_ERRORS = 30;
  private static final int MAX_PARTS = 200;
  private static final long MEMORY_LITERAL = 256 * 1024;

  /** RFC 3501 §3. */
  enum State { NOT_AUTHENTICATED, AUTHENTICATED, SELECTED, LOGOUT }

  final ImapContext ctx;
  final ImapFramer framer;
  final ReentrantLock lock = new ReentrantLock();
  State state = State.NOT_AUTHENTICATED;
  Account account;
  Selected selected;
  boolean condstore;
  boolean qresync;
  boolean utf8;
  boolean rev2;
  List<Long> savedResult = List.of();
  private final SelectedCommands sel = new SelectedCommands(this);

  // the command being assembled (text segments and literals)
  private List<Object> parts = new ArrayList<>();
  private ByteArrayOutputStream literalBytes;
  private BlobStore.BlobWriter literalBlob;
  private long literalSize;
  private String saslTag;
  private volatile String idleTag;
  private final AtomicBoolean idleWake = new AtomicBoolean();
  private String currentTag;
  private boolean framerResumed;
  private int errors;
  /** A literal of the command being assembled could not be written (a full disk): the command is answered NO. */
  private boolean literalLost;
  /** This session was told that accepted mail is not all visible (the store cannot store it now). */
  private boolean toldBehind;

  public ImapSession(ImapContext ctx, ImapFramer framer) {
    this.ctx = ctx;
    this.framer = framer;
    framer.refuseAppendWhen(ctx.mail().blobs().capacity()::full);
  }

  // ---- events -----------------------------------------------------------------------------------------------

  @Override
  protected void onConnect() {
    send("* OK [CAPABILITY " + capabilities() + "] " + ctx.config().hostname() + " Darwin Mail IMAP ready");
  }

  @Override
  protected void onIdle() {
    lock.lock();
    try {
      send("* BYE Autologout; idle for too long");
      close();
    } finally {
      lock.unlock();
    }
  }

  @Override
  protected void onClose() {
    lock.lock();
    try {
      discardCommand();
      deselect();
      state = State.LOGOUT;
    } finally {
      lock.unlock();
    }
  }

  @Override
  protected void internalError() {
    String t = currentTag != null ? currentTag : "*";
    send(t + " NO [SERVERBUG] Internal error, session " + id());
    discardCommand();
  }

  @Override
  protected void onFrame(Object frame) {
    lock.lock();
    try {
      switch (frame) {
        case ImapFramer.Line l -> line(l);
        case Frames.Chunk c -> literalChunk(c.bytes());
        case ImapFramer.LiteralEnd e -> literalEnd();
        case ImapFramer.Refused r -> literalRefused(r);
        case ImapFramer.TooLong t -> {
          String tag = parts.isEmpty() ? t.tag() : ImapParser.tagOf((String) parts.get(0));
          discardCommand();
          bad(tag, "Line too long (limit " + t.limit() + " bytes)");
        }
        default -> log.warn("[{}] unexpected frame {}", id(), frame);
      }
    } finally {
      lock.unlock();
    }
  }

  // ---- command assembly ---------------------------------------------------------------------------------------

  private void line(ImapFramer.Line l) {
    if (parts.isEmpty() && !l.hasLiteral()) {
      if (saslTag != null) {
        saslResponse(l.text());
        return;
      }
      if (idleTag != null) {
        idleDone(l.text());
        return;
      }
    }
    parts.add(l.text());
    if (l.hasLiteral()) {
      if (parts.size() > MAX_PARTS) {
        String tag = ImapParser.tagOf((String) parts.get(0));
        discardCommand();
        bad(tag, "Too many literals in one command");
        if (l.sync()) {
          return; // the client waits for "+" and gets the tagged BAD instead
        }
        close(); // the literal is on its way and cannot be told apart from commands
        return;
      }
      literalSize = l.literal();
      if (l.literal() > MEMORY_LITERAL) {
        literalBlob = ctx.mail().blobs().create();
      } else {
        literalBytes = new ByteArrayOutputStream((int) l.literal());
      }
      if (l.sync()) {
        send("+ Ready for literal data");
      }
      return;
    }
    if (literalLost) {
      String tag = ImapParser.tagOf((String) parts.get(0));
      discardCommand();
      reply(tag, storageFull().reply());
      return;
    }
    List<Object> cmd = parts;
    parts = new ArrayList<>();
    execute(cmd);
  }

  /**
   * The refusal of APPEND while the store cannot take mail (README, "A full disk"). RFC 5530 §3: UNAVAILABLE is a
   * temporary failure of a subsystem, here storage, which is what this is: it ends without the user doing
   * anything, and a client may try again later. Not OVERQUOTA, which tells the user their own quota is used up
   * (deleting their mail would not help), nor LIMIT (a fixed implementation limit) or SERVERBUG.
   */
  static ImapException storageFull() {
    return ImapException.no("UNAVAILABLE", "Mail storage is full, try again later");
  }

  private void literalChunk(byte[] b) {
    try {
      if (literalBlob != null) {
        literalBlob.write(b);
      } else if (literalBytes != null) {
        literalBytes.write(b);
      }
    } catch (IOException e) {
      // Its bytes are read and dropped; the command is answered when its line ends.
      if (!ctx.mail().blobs().capacity().recheck()) {
        log.error("[{}] cannot write a literal", id(), e);
      }
      literalBlob.abort();
      literalBlob = null;
      literalLost = true;
    }
  }

  private void literalEnd() {
    if (literalBlob != null) {
      parts.add(new ImapLiteral(null, literalBlob, literalSize));
    } else {
      parts.add(ImapLiteral.of(literalBytes == null ? new byte[0] : literalBytes.toByteArray()));
    }
    literalBlob = null;
    literalBytes = null;
  }

  private void literalRefused(ImapFramer.Refused r) {
    String first = parts.isEmpty() ? r.text() : (String) parts.get(0);
    String tag = ImapParser.tagOf(first);
    discardCommand();
    String text = "Literal too large (" + r.refusal().size() + " bytes; limit " + r.refusal().limit() + ")";
    if (r.refusal().storageFull()) {
      // The tagged reply instead of the "+" (RFC 9051 §7.5: a command the server will not take is answered before
      // the rest is sent; as for a literal over APPENDLIMIT, RFC 7889): the client does not send the message.
      reply(tag, storageFull().reply());
    } else if (state == State.NOT_AUTHENTICATED) {
      bad(tag, text); // PreAuthLiteralLimit: no big literal before login
    } else {
      reply(tag, "NO [TOOBIG] " + text);
    }
  }

  private void discardCommand() {
    for (Object p : parts) {
      if (p instanceof ImapLiteral l) {
        l.discard();
      }
    }
    parts = new ArrayList<>();
    if (literalBlob != null) {
      literalBlob.abort();
      literalBlob = null;
    }
    literalBytes = null;
    literalLost = false;
  }

  private void execute(List<Object> cmdParts) {
    String first = (String) cmdParts.get(0);
    framerResumed = !(cmdParts.size() == 1 && ImapFramer.pausesAfter(first));
    try {
      executeParsed(cmdParts, first);
    } finally {
      if (!framerResumed) {
        framer.resume(); // STARTTLS or COMPRESS refused: go on framing as before
      }
    }
  }

  private void executeParsed(List<Object> cmdParts, String first) {
    currentTag = ImapParser.tagOf(first);
    ImapCommand cmd;
    try {
      cmd = ImapParser.parse(cmdParts, utf8);
    } catch (ImapException e) {
      cmdParts.forEach(p -> {
        if (p instanceof ImapLiteral l) {
          l.discard();
        }
      });
      if (e.kind() == ImapException.Kind.BAD) {
        bad(currentTag, e.getMessage());
      } else {
        reply(currentTag, e.reply());
      }
      return;
    }
    try {
      String refusal = allowed(cmd);
      if (refusal != null) {
        if (cmd instanceof Append a) {
          a.message().discard();
        }
        reply(cmd.tag(), refusal);
        return;
      }
      // A message accepted before this command started is seen by it (NOOP, FETCH, ... of a selected mailbox
      // included), though the intake journal stores it in the background; except while it cannot store (a full
      // disk): then the command answers at once with what is stored, and the user is told once (RFC 9051 §7.1.2:
      // an untagged NO is a warning; ALERT text is shown to the user).
      boolean complete = ctx.mail().awaitIntake();
      if (!complete && !toldBehind && state != State.NOT_AUTHENTICATED) {
        send("* NO [ALERT] Mail storage is full: new mail is refused and recent mail may not show yet");
      }
      toldBehind = !complete && (toldBehind || state != State.NOT_AUTHENTICATED);
      dispatch(cmd);
    } catch (ImapException e) {
      if (e.kind() == ImapException.Kind.BAD) {
        bad(cmd.tag(), e.getMessage());
      } else {
        reply(cmd.tag(), e.reply());
      }
    } catch (RefusedException e) {
      reply(cmd.tag(), "NO " + e.getMessage());
    } catch (StoreException e) {
      log.warn("[{}] storage failure: {}", id(), e.toString());
      reply(cmd.tag(), "NO [UNAVAILABLE] Temporary storage failure, try again later");
    } finally {
      currentTag = null;
    }
  }

  // ---- the state table (RFC 3501 §6: which commands each state allows) ----------------------------------------

  private static final Set<State> ANY = EnumSet.of(State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED);
  private static final Set<State> NOT_AUTH = EnumSet.of(State.NOT_AUTHENTICATED);
  private static final Set<State> AUTH = EnumSet.of(State.AUTHENTICATED, State.SELECTED);
  private static final Set<State> SELECTED = EnumSet.of(State.SELECTED);

  static Set<State> states(ImapCommand c) {
    return switch (c) {
      case Capability x -> ANY;
      case Noop x -> ANY;
      case Logout x -> ANY;
      case Id x -> ANY;
      case StartTls x -> NOT_AUTH;
      case Authenticate x -> NOT_AUTH;
      case Login x -> NOT_AUTH;
      case Enable x -> AUTH;
      case Select x -> AUTH;
      case Create x -> AUTH;
      case Delete x -> AUTH;
      case Rename x -> AUTH;
      case Subscribe x -> AUTH;
      case ListMailboxes x -> AUTH;
      case Namespace x -> AUTH;
      case Status x -> AUTH;
      case Append x -> AUTH;
      case Idle x -> AUTH;
      case GetQuota x -> AUTH;
      case GetQuotaRoot x -> AUTH;
      case SetQuota x -> AUTH;
      case Compress x -> AUTH;
      case Check x -> SELECTED;
      case Close x -> SELECTED;
      case Unselect x -> SELECTED;
      case Expunge x -> SELECTED;
      case Search x -> SELECTED;
      case Sort x -> SELECTED;
      case Fetch x -> SELECTED;
      case Store x -> SELECTED;
      case Copy x -> SELECTED;
    };
  }

  /** The refusal ("BAD ..."/"NO ...") of a command in the current state, or null. */
  private String allowed(ImapCommand c) {
    if (!states(c).contains(state)) {
      return switch (state) {
        case NOT_AUTHENTICATED -> "BAD Log in first";
        case AUTHENTICATED -> states(c) == SELECTED ? "BAD Select a mailbox first" : "BAD Already logged in";
        default -> states(c) == NOT_AUTH ? "BAD Already logged in" : "BAD Not allowed now";
      };
    }
    return switch (c) {
      case StartTls s -> isTls() ? "BAD TLS already active" : null;
      case Login l -> loginDisabled() ? "NO [PRIVACYREQUIRED] Log in after STARTTLS" : null;
      case Authenticate a -> loginDisabled() ? "NO [PRIVACYREQUIRED] Log in after STARTTLS" : null;
      case Compress z -> channel.pipeline().get("deflate") != null ? "NO [COMPRESSIONACTIVE] Already compressing"
          : null;
      default -> null;
    };
  }

  /** RFC 9051 §6.2.3: LOGINDISABLED while a password may not travel in the clear (ARCHITECTURE.md, "Listeners and security rules"). */
  private boolean loginDisabled() {
    return !plaintextLoginAllowed(ctx.config().imap().plaintextOnLoopback());
  }

  String capabilities() {
    StringBuilder sb = new StringBuilder("IMAP4rev1 IMAP4rev2");
    if (state == State.NOT_AUTHENTICATED) {
      if (!isTls()) {
        sb.append(" STARTTLS");
      }
      sb.append(loginDisabled() ? " LOGINDISABLED" : " AUTH=PLAIN");
    }
    sb.append(" SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS"
        + " SPECIAL-USE CREATE-SPECIAL-USE ESEARCH SEARCHRES CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE APPENDLIMIT="
        + ctx.config().imap().maxLiteralSize() + " STATUS=SIZE UTF8=ACCEPT SORT BINARY COMPRESS=DEFLATE");
    return sb.toString();
  }

  // ---- dispatch (one exhaustive switch, STYLE.md §2) -----------------------------------------------------------

  private void dispatch(ImapCommand c) {
    switch (c) {
      case Capability x -> {
        send("* CAPABILITY " + capabilities());
        ok(x.tag(), "CAPABILITY completed");
      }
      case Noop x -> {
        updates(true);
        ok(x.tag(), "NOOP completed");
      }
      case Check x -> {
        updates(true);
        ok(x.tag(), "CHECK completed");
      }
      case Logout x -> {
        send("* BYE Logging out");
        ok(x.tag(), "LOGOUT completed");
        state = State.LOGOUT;
        deselect();
        close();
      }
      case Id x -> {
        // RFC 2971 §3.2; the client's fields go to the log only
        log.debug("[{}] client ID {}", id(), x.params());
        send("* ID (\"name\" \"Darwin Mail\" \"vendor\" \"Darwin Mail\" \"version\" \"0.1\")");
        ok(x.tag(), "ID completed");
      }
      case StartTls x -> startTls(x);
      case Authenticate x -> authenticate(x);
      case Login x -> login(x.tag(), x.user(), x.password());
      case Enable x -> enable(x);
      case Select x -> select(x);
      case Create x -> MailboxCommands.create(this, x);
      case Delete x -> MailboxCommands.delete(this, x);
      case Rename x -> MailboxCommands.rename(this, x);
      case Subscribe x -> MailboxCommands.subscribe(this, x);
      case ListMailboxes x -> MailboxCommands.list(this, x);
      case Namespace x -> {
        send("* NAMESPACE ((\"\" \"/\")) NIL NIL"); // RFC 2342 §5: one personal namespace
        ok(x.tag(), "NAMESPACE completed");
      }
      case Status x -> MailboxCommands.status(this, x);
      case Append x -> MailboxCommands.append(this, x);
      case Idle x -> idle(x);
      case GetQuota x -> MailboxCommands.getQuota(this, x);
      case GetQuotaRoot x -> MailboxCommands.getQuotaRoot(this, x);
      case SetQuota x -> reply(x.tag(), "NO [NOPERM] Quotas are set by the administrator");
      case Compress x -> compress(x);
      case Close x -> sel.close(x);
      case Unselect x -> {
        deselect();
        ok(x.tag(), "UNSELECT completed");
      }
      case Expunge x -> sel.expunge(x);
      case Search x -> sel.search(x);
      case Sort x -> sel.sort(x);
      case Fetch x -> sel.fetch(x);
      case Store x -> sel.store(x);
      case Copy x -> sel.copy(x);
    }
  }

  // ---- not authenticated --------------------------------------------------------------------------------------

  /** RFC 3501 §6.2.1. The framer paused after this line; what the client pipelined after it is dropped. */
  private void startTls(StartTls x) {
    if (ctx.tls() == null) {
      reply(x.tag(), "NO TLS not available");
      return;
    }
    framerResumed = true;
    ctx.tls().startTls(channelAfterPending(), framer, x.tag() + " OK Begin TLS negotiation now");
  }

  /** RFC 3501 §6.2.2 with SASL PLAIN (RFC 4616) and the initial response of SASL-IR (RFC 4959). */
  private void authenticate(Authenticate x) {
    if (!x.mechanism().equals("PLAIN")) {
      reply(x.tag(), "NO [CANNOT] Unsupported authentication mechanism");
      return;
    }
    if (x.initial() != null) {
      plain(x.tag(), x.initial());
      return;
    }
    saslTag = x.tag();
    send("+ ");
  }

  private void saslResponse(String text) {
    String tag = saslTag;
    saslTag = null;
    if (text.equals("*")) {
      bad(tag, "Authentication cancelled"); // RFC 3501 §6.2.2
      return;
    }
    plain(tag, text);
  }

  /** PLAIN (RFC 4616 §2), decoded by {@link Sasl#plain}. */
  private void plain(String tag, String b64) {
    switch (Sasl.plain(b64)) {
      case Sasl.Credentials c -> login(tag, c.user(), c.password());
      case Sasl.Refused r when r.failure() == Sasl.Failure.OTHER_AUTHZID ->
          reply(tag, "NO [AUTHORIZATIONFAILED] Cannot act as another user");
      case Sasl.Refused r -> bad(tag, r.failure().text("PLAIN"));
    }
  }

  /**
   * LOGIN and AUTHENTICATE both end here: the one login attempt (ARCHITECTURE.md,
   * "The abuse guard and login throttling").
   */
  private void login(String tag, String user, String password) {
    InetAddress ip = remoteAddress().getAddress();
    switch (ctx.logins().attempt(user, password, ip)) {
      case Logins.Locked l -> {
        log.info("[{}] IMAP login for {} from {} refused: locked out", id(), user, ip.getHostAddress());
        reply(tag, "NO [UNAVAILABLE] Too many failed logins, try again later");
      }
      case Logins.Failed f -> {
        log.info("[{}] failed IMAP login for {} from {}", id(), user, ip.getHostAddress());
        reply(tag, "NO [AUTHENTICATIONFAILED] Invalid credentials");
      }
      case Logins.Ok<Account> ok -> {
        account = ok.account();
        state = State.AUTHENTICATED;
        framer.authenticated();
        log.info("[{}] IMAP login {} from {}", id(), account.address(), ip.getHostAddress());
        reply(tag, "OK [CAPABILITY " + capabilities() + "] Logged in");
      }
    }
  }

  // ---- authenticated ------------------------------------------------------------------------------------------

  /** RFC 5161 §3.1; CONDSTORE and QRESYNC (RFC 7162 §3.2.3), UTF8=ACCEPT (RFC 6855 §3), IMAP4rev2 (RFC 9051). */
  private void enable(Enable x) {
    List<String> done = new ArrayList<>();
    for (String cap : x.capabilities()) {
      switch (cap) {
        case "CONDSTORE" -> {
          if (!condstore) {
            condstore = true;
            done.add(cap);
          }
        }
        case "QRESYNC" -> {
          if (!qresync) {
            qresync = true;
            condstore = true;
            done.add(cap);
          }
        }
        case "UTF8=ACCEPT" -> {
          if (!utf8) {
            utf8 = true;
            done.add(cap);
          }
        }
        case "IMAP4REV2" -> {
          if (!rev2) {
            rev2 = true;
            done.add("IMAP4rev2");
          }
        }
        default -> { } // RFC 5161: unknown capabilities are ignored
      }
    }
    send("* ENABLED" + (done.isEmpty() ? "" : " " + String.join(" ", done)));
    ok(x.tag(), "ENABLE completed");
  }

  /**
   * A CONDSTORE enabling command other than SELECT/EXAMINE/ENABLE (FETCH MODSEQ or CHANGEDSINCE, SEARCH MODSEQ, STORE
   * UNCHANGEDSINCE; RFC 7162 §3.1): from now on every untagged FETCH carries MODSEQ, and when it turns CONDSTORE on
   * with a mailbox selected the client learns the mailbox's HIGHESTMODSEQ first (as Dovecot does).
   */
  void enableCondstore() {
    if (condstore) {
      return;
    }
    condstore = true;
    if (selected != null) {
      send("* OK [HIGHESTMODSEQ " + selected.syncedModseq + "] Highest");
    }
  }

  /** RFC 3501 §6.3.1 / §6.3.2, with CONDSTORE and QRESYNC (RFC 7162 §3.1.8, §3.2.5). */
  private void select(Select x) {
    if (x.qresync() != null && !qresync) {
      throw ImapException.bad("Enable QRESYNC first");
    }
    boolean hadSelection = selected != null;
    deselect();
    if (hadSelection && qresync) {
      send("* OK [CLOSED] Previous mailbox closed"); // RFC 7162 §3.2.11
    }
    Mailbox m = ctx.mail().mailbox(account.id(), x.mailbox())
        .orElseThrow(() -> ImapException.no("NONEXISTENT", "No such mailbox"));
    if (x.condstore()) {
      condstore = true;
    }
    Selected s = new Selected(m, x.readOnly(), List.of());
    s.subscription = ctx.mail().events().subscribe(m.id(), id -> changed(s));
    long epoch = ctx.mail().events().epoch(m.id());
    // the modseq first, the messages second: a change in between is read again later, never missed
    Mailbox fresh = ctx.mail().mailbox(m.id()).orElse(m);
    ctx.mail().events().establish(m.id(), fresh.highestModseq(), epoch);
    List<MessageRow> rows = ctx.mail().messages(m.id());
    s.syncedModseq = fresh.highestModseq();
    s.uids.clear();
    for (MessageRow r : rows) {
      s.uids.add(r.uid());
      s.rows.put(r.uid(), r);
    }
    // \Recent (RFC 3501 §2.3.2): SELECT takes the messages no session has taken yet; EXAMINE only looks
    long mark = recentMark(s, s.maxUid());
    for (long uid : s.uids) {
      if (uid > mark) {
        s.recent.add(uid);
      }
    }
    selected = s;
    state = State.SELECTED;
    for (MessageRow r : rows) {
      s.keywords.addAll(r.keywords());
    }
    sendFlagLists(s);
    send("* " + rows.size() + " EXISTS");
    if (!rev2) {
      send("* " + s.recent.size() + " RECENT");
      for (int i = 0; i < rows.size(); i++) {
        if (!rows.get(i).has(Flags.SEEN)) {
          send("* OK [UNSEEN " + (i + 1) + "] First unseen");
          break;
        }
      }
    }
    long uidNext = Math.max(fresh.uidNext(), s.maxUid() + 1);
    send("* OK [UIDVALIDITY " + m.uidValidity() + "] UIDs valid");
    send("* OK [UIDNEXT " + uidNext + "] Predicted next UID");
    send("* OK [HIGHESTMODSEQ " + fresh.highestModseq() + "] Highest");
    if (rev2) {
      send(new Resp(utf8).raw("* LIST () \"/\" ").string(MailboxNames.toWire(m.name(), utf8)).bytes());
    }
    if (x.qresync() != null && x.qresync().uidValidity() == m.uidValidity()) {
      sel.qresyncSelect(x.qresync());
    }
    ok(x.tag(), "[" + (x.readOnly() ? "READ-ONLY" : "READ-WRITE") + "] " + (x.readOnly() ? "EXAMINE" : "SELECT")
        + " completed");
  }

  private void sendFlagLists(Selected s) {
    send("* FLAGS (" + flagList(s.keywords, false) + ")");
    send("* OK [PERMANENTFLAGS (" + (s.readOnly ? "" : flagList(s.keywords, true)) + ")] Flags permitted");
  }

  private static String flagList(Set<String> keywords, boolean permanent) {
    StringBuilder sb = new StringBuilder("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for (String k : keywords) {
      sb.append(' ').append(k);
    }
    if (permanent) {
      sb.append(" \\*");
    }
    return sb.toString();
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
      sendFlagLists(s);
    }
  }

  /**
   * The \Recent mark for messages of the view up to {@code upTo}: those above it are recent in this session. A
   * read-write session takes them (no other session will see them recent); a read-only one leaves them for the next.
   * When the mark cannot be moved (the database is read-only: a full disk), nothing is recent rather than failing.
   */
  private long recentMark(Selected s, long upTo) {
    if (rev2) {
      return Long.MAX_VALUE; // IMAP4rev2 has no \Recent (RFC 9051 Appendix E): nothing shown, nothing taken
    }
    try {
      return s.readOnly ? ctx.mail().recentUid(s.mailbox.id()) : ctx.mail().claimRecent(s.mailbox.id(), upTo);
    } catch (RuntimeException e) {
      log.debug("[{}] \\Recent mark not moved: {}", id(), e.toString());
      return upTo;
    }
  }

  void deselect() {
    Selected s = selected;
    if (s != null && s.subscription != null) {
      try {
        s.subscription.close();
      } catch (Exception e) {
        // nothing to do
      }
    }
    selected = null;
    if (state == State.SELECTED) {
      state = State.AUTHENTICATED;
    }
  }

  /** A change in the selected mailbox (from any session, on the changer's thread): note it, wake IDLE. */
  private void changed(Selected s) {
    s.dirty.set(true);
    if (idleTag != null && idleWake.compareAndSet(false, true)) {
      Thread.ofVirtual().start(() -> {
        lock.lock();
        try {
          idleWake.set(false);
          if (idleTag != null && selected == s) {
            updates(true);
            flush();
          }
        } catch (RuntimeException e) {
          log.warn("[{}] IDLE update failed: {}", id(), e.toString());
        } finally {
          lock.unlock();
        }
      });
    }
  }

  /** RFC 2177: updates as they happen until DONE. */
  private void idle(Idle x) {
    idleTag = x.tag();
    send("+ idling");
    updates(true);
  }

  private void idleDone(String text) {
    String tag = idleTag;
    idleTag = null;
    if (!text.equalsIgnoreCase("DONE")) {
      bad(tag, "Expected DONE to end IDLE");
      return;
    }
    updates(true);
    ok(tag, "IDLE terminated");
  }

  /** RFC 4978 §3: OK in the clear, then DEFLATE both ways. */
  private void compress(Compress x) {
    if (!x.mechanism().equals("DEFLATE")) {
      reply(x.tag(), "NO [CANNOT] Unknown compression mechanism");
      return;
    }
    framerResumed = true;
    java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
    String line = x.tag() + " OK DEFLATE active\r\n";
    io.netty.channel.Channel channel = channelAfterPending();
    channel.eventLoop().execute(() -> {
      try {
        framer.discardBuffered();
        channel.writeAndFlush(Unpooled.copiedBuffer(line, StandardCharsets.US_ASCII));
        var p = channel.pipeline();
        if (p.get("tls") != null) {
          p.addAfter("tls", "deflate", new Deflate());
        } else {
          p.addFirst("deflate", new Deflate());
        }
        framer.resume();
        done.complete(null);
      } catch (RuntimeException e) {
        done.completeExceptionally(e);
      }
    });
    done.join();
  }

  // ---- updates to the selected mailbox --------------------------------------------------------------------

  /**
   * Sends what changed in the selected mailbox since the last look: EXPUNGE (or VANISHED with QRESYNC) when
   * {@code expungeOk}, FETCH FLAGS for flag changes, EXISTS for new messages (RFC 3501 §7.4.1, §5.2).
   */
  void updates(boolean expungeOk) {
    Selected s = selected;
    if (s == null) {
      return;
    }
    if (s.dirty.getAndSet(false)) {
      long id = s.mailbox.id();
      var events = ctx.mail().events();
      // From the store's in-memory log of recent changes; from the database when it does not reach back so far.
      MailboxEvents.Delta d = events.since(id, s.syncedModseq);
      if (d == null) {
        var mail = ctx.mail();
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
          if (s.rows.containsKey(uid)) {
            s.gone.add(uid);
          }
        }
        s.syncedModseq = Math.max(s.syncedModseq, highest);
        if (expungeOk) {
          sendExpunges(s);
        }
        long max = s.maxUid();
        int added = 0;
        long newest = 0;
        for (MessageRow r : changed) {
          if (r.uid() > max && !s.rows.containsKey(r.uid())) {
            newest = Math.max(newest, r.uid());
          }
        }
        long mark = newest > 0 ? recentMark(s, newest) : Long.MAX_VALUE;
        for (MessageRow r : changed) {
          MessageRow old = s.rows.get(r.uid());
          if (old != null) {
            if (r.modseq() > old.modseq() && !s.gone.contains(r.uid())) {
              s.rows.put(r.uid(), r);
              if (r.flags() != old.flags() || !r.keywords().equals(old.keywords())) {
                sendFlags(s, r);
              }
            }
          } else if (r.uid() > max) {
            s.uids.add(r.uid());
            s.rows.put(r.uid(), r);
            if (r.uid() > mark) {
              s.recent.add(r.uid());
            }
            added++;
          }
        }
        if (added > 0) {
          send("* " + s.size() + " EXISTS");
          if (!rev2) {
            send("* " + s.recent.size() + " RECENT");
          }
        }
      } else if (expungeOk) {
        sendExpunges(s);
      }
    } else if (expungeOk && !s.gone.isEmpty()) {
      sendExpunges(s);
    }
  }

  /** Announces and drops the messages expunged from the view (highest number first, so numbers stay valid). */
  void sendExpunges(Selected s) {
    if (s.gone.isEmpty()) {
      return;
    }
    if (qresync) {
      List<Long> g = new ArrayList<>(new TreeSet<>(s.gone));
      send("* VANISHED " + SeqSet.format(g)); // RFC 7162 §3.2.10
      s.uids.removeAll(s.gone);
    } else {
      for (int i = s.uids.size() - 1; i >= 0; i--) {
        if (s.gone.contains(s.uids.get(i))) {
          send("* " + (i + 1) + " EXPUNGE");
          s.uids.remove(i);
        }
      }
    }
    for (long uid : s.gone) {
      s.rows.remove(uid);
      s.recent.remove(uid);
    }
    s.gone.clear();
  }

  void sendFlags(Selected s, MessageRow r) {
    int msn = s.msn(r.uid());
    if (msn == 0) {
      return;
    }
    send("* " + msn + " FETCH (UID " + r.uid() + " FLAGS (" + flagString(s, r) + ")"
        + (condstore ? " MODSEQ (" + r.modseq() + ")" : "") + ")");
  }

  static String flagString(Selected s, MessageRow r) {
    List<String> f = new ArrayList<>(Flags.names(r.flags()));
    f.addAll(new TreeSet<>(r.keywords()));
    if (s != null && s.recent.contains(r.uid())) {
      f.add("\\Recent");
    }
    return String.join(" ", f);
  }

  // ---- replies ------------------------------------------------------------------------------------------------

  void ok(String tag, String text) {
    send(tag + " OK " + text);
  }

  void reply(String tag, String text) {
    send((tag == null ? "*" : tag) + " " + text);
  }

  /** A BAD reply; too many of them end the session (a client that is lost, or someone probing). */
  void bad(String tag, String text) {
    send((tag == null ? "*" : tag) + " BAD " + text);
    if (++errors >= MAX_ERRORS) {
      send("* BYE Too many errors");
      close();
    }
  }

  @Override
  protected void send(String line) {
    super.send(line);
  }

  /** Writes a response built in bytes (it may hold literals), CRLF appended. */
  void send(byte[] response) {
    byte[] b = new byte[response.length + 2];
    System.arraycopy(response, 0, b, 0, response.length);
    b[b.length - 2] = '\r';
    b[b.length - 1] = '\n';
    sendRaw(Unpooled.wrappedBuffer(b));
  }

  /** Writes bytes after what was sent so far, as they are (no CRLF). */
  void sendBytes(byte[] b) {
    sendRaw(Unpooled.wrappedBuffer(b));
  }

  /** Chunks of a streamed literal. */
  private static final int CHUNK = 64 * 1024;

  /**
   * Sends the {@code size} bytes of {@code file} (a literal whose "{size}" went out just before) after what was sent
   * so far, in chunks: a large message is never whole in memory. When the client reads slower than the disk, the
   * session's thread waits for the socket to drain, for at most the idle timeout; then, or when the file turns out
   * shorter, the connection is closed (the response cannot be completed).
   */
  void sendFile(java.nio.file.Path file, long size) throws IOException {
    io.netty.channel.Channel ch = channelAfterPending();
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
      long left = size;
      while (left > 0) {
        if (!ch.isActive()) {
          return;
        }
        int want = (int) Math.min(CHUNK, left);
        io.netty.buffer.ByteBuf buf = ch.alloc().buffer(want);
        int got;
        try {
          got = buf.writeBytes(in, want);
        } catch (IOException | RuntimeException e) {
          buf.release();
          throw e;
        }
        if (got <= 0) {
          buf.release();
          close();
          throw new IOException(file + " is shorter than " + size + " bytes");
        }
        left -= got;
        // A literal holds no NUL (RFC 9051 §4.3): 0x80 instead, as Resp.withoutNul.
        for (int i = buf.forEachByte(io.netty.util.ByteProcessor.FIND_NUL); i >= 0;
            i = buf.forEachByte(i, buf.writerIndex() - i, io.netty.util.ByteProcessor.FIND_NUL)) {
          buf.setByte(i, 0x80);
        }
        io.netty.channel.ChannelFuture f = ch.write(buf);
        if (!ch.isWritable()) {
          ch.flush();
          if (!f.awaitUninterruptibly(ctx.config().imap().idleTimeoutSeconds() * 1000L)) {
            log.info("[{}] IMAP client stopped reading during a FETCH: closing", id());
            close();
            return;
          }
        }
      }
    }
  }

  /** Sends and flushes (long FETCH responses should not pile up in memory). */
  void flushNow() {
    flush();
  }

  long quotaLimit() {
    return ctx.directory().account(account.id()).map(Account::quotaBytes).orElse(0L);
  }

  boolean isUtf8() {
    return utf8;
  }

  static String internalDate(Instant t) {
    return java.time.format.DateTimeFormatter.ofPattern("dd-MMM-yyyy HH:mm:ss Z", Locale.ROOT)
        .format(t.atZone(java.time.ZoneOffset.UTC));
  }

  static int flagBits(Collection<String> flags) {
    int bits = 0;
    for (String f : flags) {
      bits |= Flags.bit(f);
    }
    return bits;
  }

  static Set<String> keywords(Collection<String> flags) {
    Set<String> out = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    for (String f : flags) {
      if (!f.startsWith("\\")) {
        out.add(f);
      }
    }
    return out;
  }

  static final MailStore.FlagOp[] OPS = {MailStore.FlagOp.REPLACE, MailStore.FlagOp.ADD, MailStore.FlagOp.REMOVE};

  BlobRef commit(ImapLiteral l) throws IOException {
    BlobStore.BlobWriter w = l.blob();
    if (w == null) {
      w = ctx.mail().blobs().create();
      w.write(l.bytes());
    }
    return w.commit();
  }
}
