package org.darwinmail.imap;

import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.darwinmail.auth.Sasl;
import org.darwinmail.guard.Logins;
import org.darwinmail.imap.ImapCommand.*;
import org.darwinmail.net.Frames;
import org.darwinmail.net.Session;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.RefusedException;
import org.darwinmail.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One IMAP connection (RFC 3501 IMAP4rev1 and RFC 9051 IMAP4rev2, with the extensions in {@link Verb.Capability}): its
 * state machine. Commands arrive whole (text and literals) from {@link ImapFramer}; the command table {@link Verb} is
 * checked once before the one switch that dispatches them. The handlers ({@link SelectedCommands},
 * {@link MailboxCommands}) and the untagged updates ({@link Updates}) work on its {@link SessionState} and write to
 * its {@link ReplyWriter}; they never see the session.
 */
public final class ImapSession extends Session {
  private static final Logger log = LoggerFactory.getLogger(ImapSession.class);
  private static final int MAX_ERRORS = 30;
  private static final int MAX_PARTS = 200;

  private final ImapContext ctx;
  private final ImapFramer framer;
  private final ReentrantLock lock = new ReentrantLock();
  private final SessionState st = new SessionState();
  private final ReplyWriter out = new Output();
  private final Updates updates;
  private final SelectedCommands sel;
  private final MailboxCommands boxes;
  private final UrlAuthCommands urls;
  private final Notifications notifications;

  // the command being assembled (text segments and literals)
  private List<Object> parts = new ArrayList<>();
  private ByteArrayOutputStream literalBytes;
  private BlobStore.BlobWriter literalBlob;
  private long literalSize;
  /** Bytes of the command being assembled held in the heap as literals (at most ImapFramer.MEMORY_BUDGET). */
  private long literalsInMemory;
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
    this.updates = new Updates(ctx.mail(), st, out);
    this.sel = new SelectedCommands(ctx, st, out, updates);
    this.boxes = new MailboxCommands(ctx, st, out, updates);
    this.urls = new UrlAuthCommands(ctx, st, out);
    this.notifications = new Notifications(ctx, st, out, updates, sel, this::wake);
    framer.refuseAppendWhen(ctx.mail().blobs().capacity()::full);
  }

  // ---- events -----------------------------------------------------------------------------------------------

  @Override
  protected void onConnect() {
    send(greeting(ctx.config(), this));
  }

  /**
   * The greeting (RFC 9051 §7.1.1) with the capabilities before login (RFC 9051 §6.1.1: they depend on TLS and on
   * where the client is): sent by the session, or by the {@code DeferredSession} of a connection accepted while the
   * store opened (ImapServer), so both say the same.
   */
  static String greeting(org.darwinmail.config.ServerConfig config, org.darwinmail.net.Session session) {
    boolean loginDisabled = !session.plaintextLoginAllowed(config.imap().plaintextOnLoopback());
    return "* OK [CAPABILITY " + Verb.capabilities(State.NOT_AUTHENTICATED, session.isTls(), loginDisabled,
        config.imap().maxLiteralSize()) + "] " + config.hostname() + " Darwin Mail IMAP ready";
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
      notifications.clear();
      st.state = State.LOGOUT;
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
      if (notifications.hasPending()) {
        sendUnsolicited(); // RFC 5465 §5: what was heard during the command goes out after it
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
      // the framer bounds the literals of one command (their number; their sum before login); this is a backstop
      boolean preAuth = st.state == State.NOT_AUTHENTICATED;
      if (parts.size() > MAX_PARTS || preAuth && literalsInMemory + l.literal() > ImapFramer.MEMORY_BUDGET) {
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
      if (!preAuth && (l.literal() > ImapFramer.MEMORY_LITERAL
          || literalsInMemory + l.literal() > ImapFramer.MEMORY_BUDGET)) {
        literalBlob = ctx.mail().blobs().create();
      } else {
        literalsInMemory += l.literal();
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
      reply(tag, ImapException.storageFull().reply());
      return;
    }
    List<Object> cmd = parts;
    parts = new ArrayList<>();
    literalsInMemory = 0;
    execute(cmd);
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
    String text = !r.refusal().perCommand()
        ? "Literal too large (" + r.refusal().size() + " bytes; limit " + r.refusal().limit() + ")"
        : r.refusal().limit() == ImapFramer.MAX_LITERALS ? "Too many literals in one command (limit "
            + ImapFramer.MAX_LITERALS + ")"
        : "Too much literal data in one command before login (limit " + r.refusal().limit() + " bytes)";
    if (r.refusal().storageFull()) {
      // The tagged reply instead of the "+" (RFC 9051 §7.5: a command the server will not take is answered before
      // the rest is sent; as for a literal over APPENDLIMIT, RFC 7889): the client does not send the message.
      reply(tag, ImapException.storageFull().reply());
    } else if (st.state == State.NOT_AUTHENTICATED || r.refusal().perCommand()) {
      bad(tag, text); // PreAuthLiteralLimit: no big literal before login; a command past the framer's bounds
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
    literalsInMemory = 0;
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
      cmd = ImapParser.parse(cmdParts, st.utf8);
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
          a.discard();
        } else if (cmd instanceof Replace x) {
          x.message().discard();
        }
        reply(cmd.tag(), refusal);
        return;
      }
      // A message accepted before this command started is seen by it (NOOP, FETCH, ... of a selected mailbox
      // included), though the intake journal stores it in the background; except while it cannot store (a full
      // disk): then the command answers at once with what is stored, and the user is told once (RFC 9051 §7.1.2:
      // an untagged NO is a warning; ALERT text is shown to the user).
      boolean complete = ctx.mail().awaitIntake();
      if (!complete && !toldBehind && st.state != State.NOT_AUTHENTICATED) {
        send("* NO [ALERT] Mail storage is full: new mail is refused and recent mail may not show yet");
      }
      toldBehind = !complete && (toldBehind || st.state != State.NOT_AUTHENTICATED);
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

  // ---- the command table (Verb: which commands each state allows, RFC 3501 §6) ----------------------------------

  /** The refusal ("BAD ..."/"NO ...") of a command in the current state, or null. */
  private String allowed(ImapCommand c) {
    Verb v = Verb.of(c);
    if (!v.states.contains(st.state)) {
      return switch (st.state) {
        case NOT_AUTHENTICATED -> "BAD Log in first";
        case AUTHENTICATED -> v.states == Verb.States.SELECTED ? "BAD Select a mailbox first" : "BAD Already logged in";
        default -> v.states == Verb.States.NOT_AUTH ? "BAD Already logged in" : "BAD Not allowed now";
      };
    }
    if (v.refused(isTls(), loginDisabled())) {
      return v.refusal.reply;
    }
    if (st.uidOnly && UidOnly.usesSequenceNumbers(c)) {
      return UidOnly.REFUSAL;
    }
    return switch (c) {
      case Compress z -> channel.pipeline().get("deflate") != null ? "NO [COMPRESSIONACTIVE] Already compressing"
          : null;
      default -> null;
    };
  }

  /** RFC 9051 §6.2.3: LOGINDISABLED while a password may not travel in the clear (ARCHITECTURE.md, "Listeners and security rules"). */
  private boolean loginDisabled() {
    return !plaintextLoginAllowed(ctx.config().imap().plaintextOnLoopback());
  }

  /** The CAPABILITY list now, from the command table. */
  private String capabilities() {
    return Verb.capabilities(st.state, isTls(), loginDisabled(), ctx.config().imap().maxLiteralSize());
  }

  // ---- dispatch (one exhaustive switch, STYLE.md §2) -----------------------------------------------------------

  private void dispatch(ImapCommand c) {
    switch (c) {
      case Capability x -> {
        send("* CAPABILITY " + capabilities());
        ok(x.tag(), "CAPABILITY completed");
      }
      case Noop x -> {
        updates.send(true);
        ok(x.tag(), "NOOP completed");
      }
      case Check x -> {
        updates.send(true);
        ok(x.tag(), "CHECK completed");
      }
      case Logout x -> {
        send("* BYE Logging out");
        ok(x.tag(), "LOGOUT completed");
        st.state = State.LOGOUT;
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
      case Select x -> sel.select(x, this::changed);
      case Create x -> boxes.create(x);
      case Delete x -> boxes.delete(x);
      case Rename x -> boxes.rename(x);
      case Subscribe x -> boxes.subscribe(x);
      case ListMailboxes x -> boxes.list(x);
      case Namespace x -> {
        send("* NAMESPACE ((\"\" \"/\")) NIL NIL"); // RFC 2342 §5: one personal namespace
        ok(x.tag(), "NAMESPACE completed");
      }
      case Status x -> boxes.status(x);
      case Append x -> boxes.append(x);
      case Idle x -> idle(x);
      case Notify x -> notifications.set(x);
      case GetQuota x -> boxes.getQuota(x);
      case GetQuotaRoot x -> boxes.getQuotaRoot(x);
      case SetQuota x -> boxes.setQuota(x);
      case Compress x -> compress(x);
      case ResetKey x -> urls.resetKey(x);
      case GenUrlAuth x -> urls.genUrlAuth(x);
      case UrlFetch x -> urls.urlFetch(x);
      case Close x -> sel.close(x);
      case Unselect x -> {
        deselect();
        ok(x.tag(), "UNSELECT completed");
      }
      case Expunge x -> sel.expunge(x);
      case Search x -> sel.search(x);
      case Sort x -> sel.sort(x);
      case ThreadMessages x -> sel.thread(x);
      case CancelUpdate x -> sel.cancelUpdate(x);
      case Fetch x -> sel.fetch(x);
      case Store x -> sel.store(x);
      case Copy x -> sel.copy(x);
      case Replace x -> sel.replace(x, boxes);
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
        st.account = ok.account();
        st.state = State.AUTHENTICATED;
        framer.authenticated();
        log.info("[{}] IMAP login {} from {}", id(), st.account.address(), ip.getHostAddress());
        reply(tag, "OK [CAPABILITY " + capabilities() + "] Logged in");
      }
    }
  }

  // ---- authenticated ------------------------------------------------------------------------------------------

  /**
   * RFC 5161 §3.1; CONDSTORE and QRESYNC (RFC 7162 §3.2.3), UTF8=ACCEPT (RFC 6855 §3), IMAP4rev2 (RFC 9051), UIDONLY
   * (RFC 9586 §3.1).
   */
  private void enable(Enable x) {
    List<String> done = new ArrayList<>();
    for (String cap : x.capabilities()) {
      switch (cap) {
        case "CONDSTORE" -> {
          if (!st.condstore) {
            st.condstore = true;
            done.add(cap);
          }
        }
        case "QRESYNC" -> {
          if (!st.qresync) {
            st.qresync = true;
            st.condstore = true;
            done.add(cap);
          }
        }
        case "UTF8=ACCEPT" -> {
          if (!st.utf8) {
            st.utf8 = true;
            done.add(cap);
          }
        }
        case "UIDONLY" -> { // RFC 9586 §3.1
          if (!st.uidOnly) {
            st.uidOnly = true;
            done.add(cap);
          }
        }
        case "IMAP4REV2" -> {
          if (!st.rev2) {
            st.rev2 = true;
            done.add("IMAP4rev2");
          }
        }
        default -> { } // RFC 5161: unknown capabilities are ignored
      }
    }
    send("* ENABLED" + (done.isEmpty() ? "" : " " + String.join(" ", done)));
    ok(x.tag(), "ENABLE completed");
  }

  private void deselect() {
    st.deselect();
  }

  /**
   * A change in the selected mailbox (from any session, on the changer's thread): note it; wake the session when it
   * tells changes as they happen (IDLE, or NOTIFY with selected / selected-delayed).
   */
  private void changed(Selected s) {
    s.dirty.set(true);
    if (idleTag != null || notifications.pushesSelected()) {
      wake();
    }
  }

  /**
   * Something to tell without a command (a change of the selected mailbox in IDLE, a NOTIFY event): a short virtual
   * thread takes the session's lock (after the command running, if any) and sends it, at most one waiting at a time.
   */
  private void wake() {
    if (idleWake.compareAndSet(false, true)) {
      Thread.ofVirtual().start(() -> {
        lock.lock();
        try {
          idleWake.set(false);
          sendUnsolicited();
          flush();
        } catch (RuntimeException e) {
          log.warn("[{}] unsolicited update failed: {}", id(), e.toString());
        } finally {
          lock.unlock();
        }
      });
    }
  }

  /**
   * Sends the updates of IDLE and NOTIFY's notifications, when the session is between commands (RFC 5465 §5; not
   * while a command's literal or a SASL exchange is under way) and the client reads what it is sent (else they wait,
   * and too many make a NOTIFICATIONOVERFLOW).
   */
  private void sendUnsolicited() {
    io.netty.channel.Channel ch = channel;
    if (st.state == State.LOGOUT || st.account == null || !parts.isEmpty() || saslTag != null || ch == null
        || !ch.isActive() || !ch.isWritable()) {
      return;
    }
    boolean idle = idleTag != null;
    notifications.deliver(idle);
    if (idle) {
      updates.send(true);
    }
  }

  /** RFC 2177: updates as they happen until DONE. */
  private void idle(Idle x) {
    idleTag = x.tag();
    send("+ idling");
    updates.send(true);
  }

  private void idleDone(String text) {
    String tag = idleTag;
    idleTag = null;
    if (!text.equalsIgnoreCase("DONE")) {
      bad(tag, "Expected DONE to end IDLE");
      return;
    }
    updates.send(true);
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

  // ---- replies ------------------------------------------------------------------------------------------------

  private void ok(String tag, String text) {
    send(tag + " OK " + text);
  }

  private void reply(String tag, String text) {
    send((tag == null ? "*" : tag) + " " + text);
  }

  /** A BAD reply; too many of them end the session (a client that is lost, or someone probing). */
  private void bad(String tag, String text) {
    send((tag == null ? "*" : tag) + " BAD " + text);
    if (++errors >= MAX_ERRORS) {
      send("* BYE Too many errors");
      close();
    }
  }

  /** Writes a response built in bytes (it may hold literals), CRLF appended. */
  private void send(byte[] response) {
    byte[] b = new byte[response.length + 2];
    System.arraycopy(response, 0, b, 0, response.length);
    b[b.length - 2] = '\r';
    b[b.length - 1] = '\n';
    sendRaw(Unpooled.wrappedBuffer(b));
  }

  /** Writes bytes after what was sent so far, as they are (no CRLF). */
  private void sendBytes(byte[] b) {
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
  private void sendFile(java.nio.file.Path file, long size) throws IOException {
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

  /** The output the handlers write to: this connection's, without the connection. */
  private final class Output implements ReplyWriter {
    @Override
    public void send(String line) {
      ImapSession.this.send(line);
    }

    @Override
    public void send(byte[] response) {
      ImapSession.this.send(response);
    }

    @Override
    public void sendBytes(byte[] bytes) {
      ImapSession.this.sendBytes(bytes);
    }

    @Override
    public void sendFile(java.nio.file.Path file, long size) throws IOException {
      ImapSession.this.sendFile(file, size);
    }

    @Override
    public void flush() {
      ImapSession.this.flush();
    }

    @Override
    public void checkClient() {
      ImapSession.this.checkClient();
    }

    @Override
    public String id() {
      return ImapSession.this.id();
    }
  }
}
