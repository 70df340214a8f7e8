package org.darwinmail.pop3;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.darwinmail.auth.Sasl;
import org.darwinmail.guard.Logins;
import org.darwinmail.net.Frames;
import org.darwinmail.net.Session;
import org.darwinmail.pop3.Pop3Command.Apop;
import org.darwinmail.pop3.Pop3Command.Auth;
import org.darwinmail.pop3.Pop3Command.Capa;
import org.darwinmail.pop3.Pop3Command.Dele;
import org.darwinmail.pop3.Pop3Command.Noop;
import org.darwinmail.pop3.Pop3Command.Pass;
import org.darwinmail.pop3.Pop3Command.Quit;
import org.darwinmail.pop3.Pop3Command.Retr;
import org.darwinmail.pop3.Pop3Command.Rset;
import org.darwinmail.pop3.Pop3Command.Stat;
import org.darwinmail.pop3.Pop3Command.Stls;
import org.darwinmail.pop3.Pop3Command.Top;
import org.darwinmail.pop3.Pop3Command.Uidl;
import org.darwinmail.pop3.Pop3Command.User;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.MessageTable;
import org.darwinmail.store.ViewBudget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One POP3 connection (RFC 1939) on INBOX, with CAPA (RFC 2449), STLS (RFC 2595) and AUTH PLAIN (RFC 5034).
 *
 * <p>AUTHORIZATION: USER/PASS or AUTH PLAIN, refused before TLS except on loopback (ARCHITECTURE.md,
 * "Listeners and security rules"), throttled by the login guard ({@link Logins}). A successful login takes the maildrop lock
 * ({@link MaildropLocks}; a second POP3 session gets [IN-USE]) and snapshots INBOX: message numbers are fixed for the
 * session. TRANSACTION: DELE only marks; the messages go in the UPDATE state after QUIT, through
 * {@code MailStore.expunge} so that IMAP sessions see it. A connection that drops or times out deletes nothing and
 * releases the lock.
 */
public final class Pop3Session extends Session {
  private static final Logger log = LoggerFactory.getLogger(Pop3Session.class);
  private static final int CHUNK = 64 * 1024;

  /** RFC 1939 §3. */
  enum State { AUTHORIZATION, TRANSACTION, UPDATE }

  /**
   * The table of commands: the states in which each is allowed (RFC 1939 §4-§7, RFC 2449 §5, RFC 2595 §4, RFC 5034
   * §4), whether it carries credentials (refused in the clear except on loopback: RFC 2595 §2.1; ARCHITECTURE.md,
   * "Listeners and security rules") and the CAPA line that announces it (RFC 2449 §6). Checked once before dispatch,
   * and by the compiler: {@link #of} is an exhaustive switch over the sealed {@link Pop3Command}, so a new command
   * without a row does not compile.
   */
  enum Verb {
    STLS(EnumSet.of(State.AUTHORIZATION), false, "STLS"),
    USER(EnumSet.of(State.AUTHORIZATION), true, "USER"),
    PASS(EnumSet.of(State.AUTHORIZATION), true, null),
    APOP(EnumSet.of(State.AUTHORIZATION), false, null),
    AUTH(EnumSet.of(State.AUTHORIZATION), true, "SASL PLAIN"),
    CAPA(EnumSet.of(State.AUTHORIZATION, State.TRANSACTION), false, null),
    QUIT(EnumSet.of(State.AUTHORIZATION, State.TRANSACTION), false, null),
    STAT(EnumSet.of(State.TRANSACTION), false, null),
    LIST(EnumSet.of(State.TRANSACTION), false, null),
    RETR(EnumSet.of(State.TRANSACTION), false, null),
    DELE(EnumSet.of(State.TRANSACTION), false, null),
    NOOP(EnumSet.of(State.TRANSACTION), false, null),
    RSET(EnumSet.of(State.TRANSACTION), false, null),
    TOP(EnumSet.of(State.TRANSACTION), false, "TOP"),
    UIDL(EnumSet.of(State.TRANSACTION), false, "UIDL");

    final Set<State> states;
    final boolean credentials;
    final String capability;

    Verb(Set<State> states, boolean credentials, String capability) {
      this.states = states;
      this.credentials = credentials;
      this.capability = capability;
    }

    static Verb of(Pop3Command c) {
      return switch (c) {
        case Stls s -> STLS;
        case User u -> USER;
        case Pass p -> PASS;
        case Apop a -> APOP;
        case Auth a -> AUTH;
        case Capa x -> CAPA;
        case Quit q -> QUIT;
        case Stat s -> STAT;
        case Pop3Command.List l -> LIST;
        case Retr r -> RETR;
        case Dele d -> DELE;
        case Noop n -> NOOP;
        case Rset r -> RSET;
        case Top t -> TOP;
        case Uidl u -> UIDL;
      };
    }
  }

  private final Pop3Context ctx;
  private final Pop3Framer framer;

  private State state = State.AUTHORIZATION;
  private String user; // after USER, before PASS
  private boolean saslPending; // AUTH PLAIN sent "+ ", waiting for the response line
  private int errors;
  private boolean streaming;
  // TRANSACTION: the maildrop as it was at login (RFC 1939 §5: numbers are fixed for the session).
  private Account account;
  private Mailbox inbox;
  private MessageTable messages = new MessageTable(0, ViewBudget.SHARED);
  private boolean[] deleted = new boolean[0];
  // RETR answers read ahead of a client retrieving in order, sent from the event loop (inline), and topped up by a
  // refill on a virtual thread of its own (readAhead). Marks in `deleted` change under ahead's lock (the refill
  // reads them).
  private final ReadAhead ahead = new ReadAhead();
  private volatile int lastRetr;
  private final AtomicBoolean refilling = new AtomicBoolean();
  // Where the last read-ahead stopped other than for room: a message too big or unreadable, or past the last one
  // (messages.size() + 1); 0 when it stopped for room. A refill is started only when it can get further.
  private volatile int blockedAt;
  // The command inline() parsed, reused when the same line reaches onFrame (on either thread).
  private String parsedText;
  private Pop3Command parsed;

  public Pop3Session(Pop3Context ctx, Pop3Framer framer) {
    this.ctx = ctx;
    this.framer = framer;
  }

  // ---- events -----------------------------------------------------------------------------------------------

  @Override
  protected void onConnect() {
    reply(Reply.GREETING);
  }

  /** RFC 1939 §3: the autologout timer ends the session without entering UPDATE. */
  @Override
  protected void onIdle() {
    reply(Reply.IDLE_TIMEOUT);
    close();
    releaseMaildrop();
  }

  @Override
  protected void onClose() {
    ahead.close();
    releaseMaildrop(); // a dropped connection deletes nothing (RFC 1939 §6)
  }

  @Override
  protected void internalError() {
    if (streaming) {
      close(); // a multi-line answer was cut: the stream cannot be resynchronised
      releaseMaildrop();
      return;
    }
    reply(new Reply(false, "SYS/TEMP", "Internal error, session " + id()));
  }

  /**
   * What runs on the event loop instead of the session's virtual thread (see {@code net.SessionRunner}): the events
   * and every command answered from the session's memory, that is from the snapshot taken at login (RFC 1939 §5:
   * the numbers and sizes are fixed for the session), with no storage, no password hash and no pause. In
   * TRANSACTION that is STAT, LIST, UIDL, DELE, NOOP, RSET and CAPA; a client retrieving and deleting its mail pays
   * the hand-off to a virtual thread and back for RETR only, and only for its first RETR when it retrieves in order:
   * a RETR whose answer was read ahead ({@link #readAhead}, kept topped up by {@link #refill}) is answered inline
   * too (RFC 1939 §5: DELE only marks the message, the UPDATE state after QUIT removes it). Errors (an unknown
   * command, a wrong state, a bad or deleted message number, for RETR and TOP as well) are answered inline. Not
   * inline: PASS and AUTH (the login guard, Argon2id, the snapshot), STLS (it changes the pipeline), QUIT in
   * TRANSACTION (the UPDATE state writes the store), RETR not read ahead and TOP (they read the blob file, which can
   * stall on a slow or failing disk and would then stop every connection of the loop), and a whole-maildrop LIST or
   * UIDL of more than {@link #INLINE_LISTING} messages (memory, but long enough to be felt by the other connections
   * of the loop).
   */
  @Override
  protected boolean inline(Object frame) {
    return switch (frame) {
      case Frames.Connected c -> true;
      case Frames.Idle i -> true;
      case Frames.Expired e -> true;
      case Frames.Closed c -> true;
      case Frames.LineTooLong t -> true;
      case Frames.Line l -> !saslPending && answeredFromMemory(l.text());
      default -> false;
    };
  }

  /** Longest whole-maildrop LIST or UIDL answered on the event loop (about 30 KB of output). */
  static final int INLINE_LISTING = 1000;

  private boolean answeredFromMemory(String text) {
    Pop3Command cmd;
    try {
      cmd = Pop3Command.parse(text);
    } catch (Pop3Exception e) {
      return true; // a syntax error: answered from memory
    }
    parsedText = text;
    parsed = cmd;
    if (cmd instanceof Stls) {
      return false; // resumes the framer or changes the pipeline: on the session's thread, as always
    }
    if (precondition(cmd) != null) {
      return true; // refused by the state table
    }
    return switch (cmd) {
      case User u -> true;
      case Capa c -> true;
      case Apop a -> true; // refused
      case Noop n -> true;
      case Stat s -> true;
      case Dele d -> true;
      case Rset r -> true;
      case Pop3Command.List l -> l.msg() != null || messages.size() <= INLINE_LISTING;
      case Uidl u -> u.msg() != null || messages.size() <= INLINE_LISTING;
      case Quit q -> state == State.AUTHORIZATION; // TRANSACTION: the UPDATE state writes the store
      case Pass p -> false;
      case Auth a -> false;
      case Stls s -> false;
      case Retr r -> ahead.has(r.msg()) || !present(r.msg()); // read ahead, or refused from memory
      case Top t -> !present(t.msg());
    };
  }

  @Override
  protected void onFrame(Object frame) {
    switch (frame) {
      case Frames.Line l -> line(l.text());
      case Frames.LineTooLong t -> {
        saslPending = false;
        error(Reply.LINE_TOO_LONG);
      }
      default -> log.warn("[{}] unexpected frame {}", id(), frame);
    }
  }

  private void line(String text) {
    if (saslPending) {
      saslPending = false;
      saslResponse(text);
      return;
    }
    Pop3Command cmd;
    try {
      cmd = text == parsedText ? parsed : Pop3Command.parse(text); // the same line object: inline() parsed it
    } catch (Pop3Exception e) {
      error(e.reply());
      return;
    } finally {
      parsedText = null;
      parsed = null;
    }
    Reply pre = precondition(cmd);
    if (pre != null) {
      error(pre);
      if (cmd instanceof Stls) {
        framer.resume();
      }
      return;
    }
    try {
      switch (cmd) {
        case User u -> user(u);
        case Pass p -> pass(p);
        case Apop a -> error(Reply.APOP_UNSUPPORTED);
        case Auth a -> auth(a);
        case Capa c -> capa();
        case Stls s -> stls();
        case Stat s -> stat();
        case Pop3Command.List l -> list(l);
        case Retr r -> retr(r);
        case Dele d -> dele(d);
        case Noop n -> reply(Reply.NOOP);
        case Rset r -> rset();
        case Quit q -> quit();
        case Top t -> top(t);
        case Uidl u -> uidl(u);
      }
    } catch (Pop3Exception e) {
      error(e.reply());
    }
  }

  /** The state table, then TLS for credentials. Returns the refusal, or null. */
  private Reply precondition(Pop3Command cmd) {
    Verb verb = Verb.of(cmd);
    if (!verb.states.contains(state)) {
      return verb == Verb.STLS && isTls() ? Reply.TLS_ACTIVE : Reply.WRONG_STATE;
    }
    if (verb.credentials && !plaintextAllowed()) {
      return Reply.TLS_REQUIRED;
    }
    return switch (cmd) {
      case Stls s -> isTls() ? Reply.TLS_ACTIVE : ctx.tls() == null ? Reply.TLS_UNAVAILABLE : null;
      case Pass p -> user == null ? Reply.NEED_USER : null;
      default -> null;
    };
  }

  /** Credentials may travel over TLS, or in the clear on loopback when the configuration allows it. */
  private boolean plaintextAllowed() {
    return plaintextLoginAllowed(ctx.config().pop3().plaintextOnLoopback());
  }

  // ---- AUTHORIZATION ----------------------------------------------------------------------------------------

  /** RFC 1939 §7 USER: any name is accepted here, so that PASS cannot tell which accounts exist. */
  private void user(User u) {
    user = u.name();
    reply(Reply.USER_OK);
  }

  /** RFC 1939 §7 PASS. */
  private void pass(Pass p) {
    String name = user;
    user = null; // after -ERR the client starts over with USER (RFC 1939 §7)
    login(name, p.password());
  }

  /**
   * RFC 2449 §5: what the client may use in the current state, from the command table: the TRANSACTION commands'
   * capabilities, the server's, then (before login) those of the login commands offered now.
   */
  private void capa() {
    List<String> caps = new ArrayList<>();
    for (Verb v : Verb.values()) {
      if (v.capability != null && v.states.equals(EnumSet.of(State.TRANSACTION))) {
        caps.add(v.capability);
      }
    }
    caps.add("RESP-CODES");
    caps.add("AUTH-RESP-CODE");
    caps.add("PIPELINING");
    for (Verb v : Verb.values()) {
      if (v.capability != null && v.states.contains(state) && state == State.AUTHORIZATION && offered(v)) {
        caps.add(v.capability);
      }
    }
    caps.add("EXPIRE NEVER");
    caps.add("IMPLEMENTATION Darwin-Mail");
    reply(Reply.CAPA);
    for (String c : caps) {
      send(c);
    }
    send(".");
  }

  /** Whether a login command is offered now (its precondition would let it through). */
  private boolean offered(Verb v) {
    return v == Verb.STLS ? !isTls() && ctx.tls() != null : !v.credentials || plaintextAllowed();
  }

  /** RFC 2595 §4: the session starts over after the handshake (no USER remembered). */
  private void stls() {
    user = null;
    ctx.tls().startTls(channelAfterPending(), framer, Reply.BEGIN_TLS.line());
  }

  /** RFC 5034 §4 AUTH with PLAIN (RFC 4616); "AUTH" alone lists the mechanisms (as many clients expect). */
  private void auth(Auth a) {
    user = null;
    if (a.mechanism() == null) {
      reply(Reply.AUTH_MECHANISMS);
      send("PLAIN");
      send(".");
      return;
    }
    if (!a.mechanism().equals("PLAIN")) {
      error(Reply.UNSUPPORTED_MECHANISM);
      return;
    }
    if (a.initialResponse() == null) {
      saslPending = true;
      send("+ "); // RFC 5034 §4: an empty challenge
      return;
    }
    plain(a.initialResponse());
  }

  /** RFC 5034 §4: "*" cancels the exchange. */
  private void saslResponse(String text) {
    if (text.strip().equals("*")) {
      error(Reply.AUTH_CANCELLED);
      return;
    }
    plain(text);
  }

  /** PLAIN (RFC 4616 §2; "=" is an empty initial response, RFC 5034 §4), decoded by {@link Sasl#plain}. */
  private void plain(String b64) {
    switch (Sasl.plain(b64)) {
      case Sasl.Credentials c -> login(c.user(), c.password());
      case Sasl.Refused r -> error(switch (r.failure()) {
        case BAD_BASE64 -> Reply.BAD_BASE64;
        case OTHER_AUTHZID -> Reply.AUTH_FAILED.withText(r.failure().text("PLAIN"));
        default -> Reply.err(r.failure().text("PLAIN"));
      });
    }
  }

  /**
   * Every login path ends here: the one login attempt (ARCHITECTURE.md, "The abuse guard and login throttling"), then
   * the maildrop (RFC 1939 §4, §8).
   */
  private void login(String name, String password) {
    InetAddress ip = remoteAddress().getAddress();
    switch (ctx.logins().attempt(name, password, ip)) {
      case Logins.Locked l -> {
        log.info("[{}] POP3 login for {} from {} refused: locked out", id(), name, ip.getHostAddress());
        error(Reply.LOCKED_OUT);
      }
      case Logins.Failed f -> {
        log.info("[{}] failed POP3 login for {} from {}", id(), name, ip.getHostAddress());
        error(Reply.AUTH_FAILED);
      }
      case Logins.Ok<Account> ok -> openMaildrop(ok.account());
    }
  }

  /** RFC 1939 §4 / RFC 2449 §8.1.1: lock the maildrop, or answer [IN-USE]; then take the session's snapshot. */
  private void openMaildrop(Account a) {
    if (!ctx.locks().tryLock(a.id(), id())) {
      log.info("[{}] POP3 login {}: maildrop in use", id(), a.address());
      reply(Reply.IN_USE);
      return;
    }
    boolean complete;
    try {
      // False at once while accepted mail cannot be stored (a full disk): the snapshot is what is stored.
      complete = ctx.mail().awaitIntake();
      Optional<Mailbox> box = ctx.mail().mailbox(a.id(), Mailbox.INBOX);
      if (box.isEmpty()) {
        ctx.locks().unlock(a.id(), id());
        reply(Reply.NO_INBOX);
        return;
      }
      account = a;
      inbox = box.get();
      MessageTable snapshot = new MessageTable(inbox.id(), ViewBudget.SHARED);
      if (!snapshot(snapshot)) {
        log.warn("[{}] POP3 login {} refused (-ERR [SYS/TEMP]): the mailboxes all sessions hold would take more than"
            + " {} MB of the heap (half of it; {} messages read when it ran out)", id(), a.address(),
            ViewBudget.SHARED.limit() >> 20, snapshot.size());
        account = null;
        ctx.locks().unlock(a.id(), id());
        reply(Reply.TOO_MANY_HELD);
        return;
      }
      messages = snapshot;
      deleted = new boolean[messages.size()];
    } catch (RuntimeException e) {
      ctx.locks().unlock(a.id(), id());
      account = null;
      throw e;
    }
    state = State.TRANSACTION;
    log.info("[{}] POP3 login {} from {}: {} messages", id(), a.address(),
        remoteAddress().getAddress().getHostAddress(), messages.size());
    reply(Reply.LOGGED_IN.withText("Logged in, " + messages.size() + " messages (" + totalSize() + " octets)"
        + (complete ? "" : "; mail storage is full, recent mail may not show yet")));
  }

  /**
   * Reads the maildrop into {@code into} row by row within the budget ({@link MessageTable#tryAdd}); false, with
   * nothing kept, when it would not fit.
   */
  private boolean snapshot(MessageTable into) {
    boolean[] fits = {true};
    try {
      ctx.mail().eachMessage(inbox.id(), r -> {
        if (fits[0] && (into.size() == 0 || r.uid() > into.uid(into.size() - 1))) { // not a row read again
          fits[0] = into.tryAdd(r);
        }
      });
    } catch (RuntimeException e) {
      into.release();
      throw e;
    }
    if (!fits[0]) {
      into.release();
      return false;
    }
    into.trim();
    return true;
  }

  private void releaseMaildrop() {
    messages.release();
    Account a = account;
    if (a != null) {
      ctx.locks().unlock(a.id(), id());
    }
  }

  // ---- TRANSACTION ------------------------------------------------------------------------------------------

  /** RFC 1939 §5 STAT: count and size of the messages not marked deleted. */
  private void stat() {
    reply(Reply.ok(count() + " " + totalSize()));
  }

  /** RFC 1939 §5 LIST. */
  private void list(Pop3Command.List l) {
    if (l.msg() != null) {
      MessageRow m = message(l.msg());
      reply(Reply.ok(l.msg() + " " + m.size()));
      return;
    }
    reply(Reply.ok(count() + " messages (" + totalSize() + " octets)"));
    for (int i = 0; i < messages.size(); i++) {
      if (!deleted[i]) {
        send((i + 1) + " " + messages.messageSize(i));
      }
    }
    send(".");
  }

  /** RFC 1939 §7 UIDL: "UIDVALIDITY.UID" of INBOX, the same message's IMAP identity, stable across restarts. */
  private void uidl(Uidl u) {
    if (u.msg() != null) {
      reply(Reply.ok(u.msg() + " " + uniqueId(message(u.msg()).uid())));
      return;
    }
    reply(Reply.ok(""));
    for (int i = 0; i < messages.size(); i++) {
      if (!deleted[i]) {
        send((i + 1) + " " + uniqueId(messages.uid(i)));
      }
    }
    send(".");
  }

  String uniqueId(long uid) {
    return inbox.uidValidity() + "." + uid;
  }

  /**
   * RFC 1939 §5 RETR: the answer read ahead (on the event loop, inline), or read now (on the virtual thread), then,
   * when the client retrieves in order, the answers to the next messages read ahead ({@link #readAhead}): here, before
   * the answer goes out, when nothing was held (the client's next RETR is then answered inline, even when every
   * virtual-thread carrier is busy); on a virtual thread of its own ({@link #refill}) when what is held runs low, so
   * that a client retrieving in order never waits for the disk or a virtual thread after its first RETR.
   */
  private void retr(Retr r) {
    MessageRow m = message(r.msg());
    ByteBuf ready = ahead.take(r.msg());
    boolean inOrder = r.msg() == lastRetr + 1;
    lastRetr = r.msg();
    if (ready != null) {
      send(ready);
      refill();
      return;
    }
    stream(m, -1, retrStatus(m));
    if (inOrder && refilling.compareAndSet(false, true)) {
      try {
        readAhead(r.msg() + 1);
      } finally {
        refilling.set(false);
      }
    }
  }

  /**
   * Starts reading the next answers ahead on a virtual thread of its own when what is held runs low
   * ({@link ReadAhead#low}), no refill runs already, and the last one did not stop where this one would. The session
   * goes on answering meanwhile (inline, from what is held); the refill only adds to {@link #ahead}, never writes to
   * the channel, so the order of the answers is the session's alone.
   */
  private void refill() {
    int blocked = blockedAt;
    if (blocked > 0 && lastRetr < blocked || !ahead.low() || !refilling.compareAndSet(false, true)) {
      return;
    }
    int from = lastRetr + 1;
    try {
      Thread.ofVirtual().name("pop3-read-ahead").start(() -> {
        try {
          readAhead(from);
        } catch (RuntimeException e) {
          log.warn("[{}] POP3 read-ahead failed", id(), e); // the RETR reads the message itself, and says what is wrong
        } finally {
          refilling.set(false);
        }
      });
    } catch (RuntimeException e) {
      refilling.set(false);
      throw e;
    }
  }

  private static Reply retrStatus(MessageRow m) {
    return Reply.ok(m.size() + " octets");
  }

  /**
   * Reads the answers to RETR of the messages from {@code first} on (not deleted, small: at most
   * {@link BlobStore#SMALL}), as many as {@link ReadAhead} has room for, on a virtual thread (the session's, or a
   * refill's: one at a time, {@link #refilling}), so that the event loop can send them when asked without touching
   * the disk. Stops at the first message that does not fit or cannot be read (its RETR then reads it, and reports
   * what is wrong), and records where ({@link #blockedAt}). A message marked deleted while it was read is not kept:
   * the mark and the put agree under the lock of {@link #ahead}.
   */
  private void readAhead(int first) {
    for (int n = first; n <= messages.size(); n++) {
      if (!channel.isActive()) {
        return;
      }
      MessageRow m = messages.row(n - 1);
      if (isDeleted(n) || ahead.has(n)) {
        continue;
      }
      if (m.size() <= 0 || m.size() > BlobStore.SMALL) {
        blockedAt = n;
        return;
      }
      if (!ahead.room((int) m.size())) {
        blockedAt = 0;
        return;
      }
      ByteBuf b;
      try {
        b = whole(m, retrStatus(m));
      } catch (Pop3Exception e) {
        blockedAt = n;
        return;
      }
      if (b == null) {
        blockedAt = n;
        return;
      }
      synchronized (ahead) {
        if (deleted[n - 1] || n <= lastRetr) {
          b.release(); // deleted, or asked for (and read by its RETR) while it was being read
          continue;
        }
        if (!ahead.put(n, b)) {
          blockedAt = 0;
          return;
        }
      }
    }
    blockedAt = messages.size() + 1;
  }

  private boolean isDeleted(int msg) {
    synchronized (ahead) {
      return deleted[msg - 1];
    }
  }

  /** RFC 1939 §7 TOP. */
  private void top(Top t) {
    MessageRow m = message(t.msg());
    stream(m, t.lines(), Reply.ok("Top of message follows"));
  }

  /** RFC 1939 §5 DELE: only marks the message; it goes in the UPDATE state. */
  private void dele(Dele d) {
    message(d.msg());
    synchronized (ahead) {
      deleted[d.msg() - 1] = true;
      ahead.drop(d.msg());
    }
    reply(Reply.DELETED.withText("Message " + d.msg() + " deleted"));
  }

  /** RFC 1939 §5 RSET: unmark every message. */
  private void rset() {
    synchronized (ahead) {
      deleted = new boolean[messages.size()];
    }
    blockedAt = 0; // messages marked deleted may be read ahead again
    reply(Reply.ok("Maildrop has " + count() + " messages (" + totalSize() + " octets)"));
  }

  /** RFC 1939 §4 QUIT in AUTHORIZATION; §6 the UPDATE state after QUIT in TRANSACTION. */
  private void quit() {
    if (state == State.AUTHORIZATION) {
      reply(Reply.BYE);
      close();
      return;
    }
    state = State.UPDATE;
    ahead.close();
    List<Long> uids = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      if (deleted[i]) {
        uids.add(messages.uid(i));
      }
    }
    Reply r;
    try {
      List<Long> removed = uids.isEmpty() ? List.of() : ctx.mail().expunge(inbox.id(), uids);
      long left = ctx.mail().count(inbox.id());
      log.info("[{}] POP3 {} quit: {} deleted, {} left", id(), account.address(), removed.size(), left);
      r = Reply.BYE.withText("Bye, " + removed.size() + " deleted, " + left + " messages left");
    } catch (RuntimeException e) {
      log.error("[{}] POP3 UPDATE failed for {}", id(), account.address(), e);
      r = Reply.UPDATE_FAILED;
    }
    releaseMaildrop(); // before the answer: a client may log in again the moment it reads it
    reply(r);
    close();
  }

  // ---- streaming --------------------------------------------------------------------------------------------

  /**
   * Sends {@code status} and the message, dot-stuffed, straight from the blob store. Output goes out in chunks of
   * about {@link #CHUNK} bytes; when the channel is no longer writable (the client reads slower than the disk), the
   * session's virtual thread waits for the socket to drain, so at most a few chunks are in memory whatever the
   * message size. A small message is one write, flushed with the other answers of the batch (PIPELINING).
   */
  private void stream(MessageRow m, long bodyLines, Reply status) {
    if (bodyLines < 0 && m.size() > 0 && m.size() <= BlobStore.SMALL) {
      ByteBuf answer = whole(m, status);
      if (answer != null) {
        send(answer);
        return;
      }
    }
    InputStream in;
    try {
      in = ctx.mail().open(m);
    } catch (NoSuchFileException e) {
      throw new Pop3Exception(Reply.MESSAGE_GONE);
    } catch (IOException e) {
      log.error("[{}] cannot open blob {}", id(), m.blob(), e);
      throw new Pop3Exception(Reply.NO_INBOX);
    }
    streaming = true;
    ByteBuf out = null;
    try (in) {
      reply(status);
      Channel ch = channelAfterPending();
      DotStuffer d = new DotStuffer(bodyLines);
      int size = (int) Math.min(CHUNK, Math.max(0, m.size()) + 1); // +1: a small message needs one read, and EOF
      byte[] buf = new byte[size];
      out = ch.alloc().buffer(size + size / 16 + 16);
      int n;
      while (!d.done() && ch.isActive() && (n = in.read(buf)) > 0) {
        d.feed(buf, 0, n, out);
        if (out.readableBytes() >= CHUNK) {
          ByteBuf full = out;
          out = null;
          write(ch, full, true);
          out = ch.alloc().buffer(CHUNK + CHUNK / 8);
        }
      }
      d.finish(out);
      ByteBuf last = out;
      out = null;
      write(ch, last, false); // flushed when the commands read so far are answered (SessionRunner)
    } catch (IOException e) {
      log.error("[{}] reading blob {} failed", id(), m.blob(), e);
      close(); // the answer is cut: the client must not take it for the message
      releaseMaildrop();
    } finally {
      streaming = false;
      if (out != null) {
        out.release();
      }
    }
  }

  /**
   * RETR of a small message in one buffer: the status line, then the blob read straight into the same (direct)
   * buffer with one positional read, then ".CRLF". A message already in the form RFC 1939 §3 sends (every line ending
   * in CRLF, none starting with ".", as mail received over SMTP nearly always is) goes out as stored, without passing
   * through {@link DotStuffer} or the heap. Returns the answer, which joins the batch's other answers
   * ({@code send(ByteBuf)}) without a copy or waits in {@link ReadAhead}; null when the file is not the size of the row
   * (the streaming path then handles it).
   */
  private ByteBuf whole(MessageRow m, Reply status) {
    int size = (int) m.size();
    ByteBuf out = null;
    try (FileChannel fc = ctx.mail().openChannel(m)) {
      byte[] head = (status.line() + "\r\n").getBytes(StandardCharsets.US_ASCII);
      out = channel.alloc().directBuffer(head.length + size + 1 + END.length);
      out.writeBytes(head);
      int start = out.writerIndex();
      long pos = 0;
      int n;
      while (out.isWritable() && (n = out.writeBytes(fc, pos, out.writableBytes())) > 0) {
        pos += n;
      }
      if (pos != size) {
        return null; // a file that is not the row's size: the general path copes with anything
      }
      if (!canonical(out, start, out.writerIndex())) {
        // Byte-stuffed in one pass from the buffer the file was read into to the answer (no copy through the heap).
        ByteBuf stuffed = channel.alloc().directBuffer(head.length + size + size / 16 + 8);
        stuffed.writeBytes(head);
        DotStuffer d = new DotStuffer(-1);
        d.feed(out.readerIndex(start), stuffed);
        d.finish(stuffed);
        out.release();
        out = null;
        return stuffed;
      }
      out.writeBytes(END);
      ByteBuf whole = out;
      out = null;
      return whole;
    } catch (NoSuchFileException e) {
      throw new Pop3Exception(Reply.MESSAGE_GONE);
    } catch (IOException e) {
      log.error("[{}] cannot read blob {}", id(), m.blob(), e);
      throw new Pop3Exception(Reply.NO_INBOX);
    } finally {
      if (out != null) {
        out.release();
      }
    }
  }

  private static final byte[] END = {'.', '\r', '\n'};

  /**
   * True when bytes [from, to) of {@code b} are already what RFC 1939 §3 sends: every LF preceded by CR, the last
   * line ended, no line starting with "." (a bare CR inside a line is sent as it is either way).
   */
  static boolean canonical(ByteBuf b, int from, int to) {
    if (to - from < 2 || b.getByte(from) == '.' || b.getByte(to - 1) != '\n') {
      return false;
    }
    for (int i = b.indexOf(from, to, (byte) '\n'); i >= 0; i = b.indexOf(i + 1, to, (byte) '\n')) {
      if (i == from || b.getByte(i - 1) != '\r' || i + 1 < to && b.getByte(i + 1) == '.') {
        return false;
      }
    }
    return true;
  }

  /**
   * Writes a chunk (and flushes it when asked). Backpressure: when the channel is not writable, flushes and waits
   * until the socket has taken what is queued; a client that stops reading for the idle timeout is disconnected
   * (the session's thread must not wait forever, holding the maildrop lock).
   */
  private void write(Channel ch, ByteBuf out, boolean flush) {
    ChannelFuture f = flush ? ch.writeAndFlush(out) : ch.write(out);
    if (!ch.isWritable()) {
      ch.flush();
      if (!f.awaitUninterruptibly(ctx.config().pop3().idleTimeoutSeconds() * 1000L)) {
        log.info("[{}] POP3 client stopped reading for {} s in a download: closing", id(),
            ctx.config().pop3().idleTimeoutSeconds());
        ch.close();
      }
    }
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  /** The message numbered {@code msg} (1-based), or the -ERR for a missing or deleted one (RFC 1939 §5). */
  private MessageRow message(int msg) {
    if (msg < 1 || msg > messages.size()) {
      throw new Pop3Exception(Reply.NO_SUCH_MESSAGE);
    }
    if (deleted[msg - 1]) {
      throw new Pop3Exception(Reply.ALREADY_DELETED);
    }
    return messages.row(msg - 1);
  }

  /** Whether message {@code msg} (1-based) is in the snapshot and not marked deleted. */
  private boolean present(int msg) {
    return msg >= 1 && msg <= messages.size() && !deleted[msg - 1];
  }

  private int count() {
    int n = 0;
    for (boolean d : deleted) {
      n += d ? 0 : 1;
    }
    return n;
  }

  private long totalSize() {
    long s = 0;
    for (int i = 0; i < messages.size(); i++) {
      s += deleted[i] ? 0 : messages.messageSize(i);
    }
    return s;
  }

  private void reply(Reply r) {
    send(r.line());
  }

  /** A -ERR for a bad command; too many of them close the session. */
  private void error(Reply r) {
    reply(r);
    if (++errors >= ctx.config().pop3().maxErrors()) {
      reply(Reply.TOO_MANY_ERRORS);
      close();
      releaseMaildrop();
    }
  }
}
