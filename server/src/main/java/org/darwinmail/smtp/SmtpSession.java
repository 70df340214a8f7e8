package org.darwinmail.smtp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.darwinmail.auth.Sasl;
import org.darwinmail.delivery.Acceptance;
import org.darwinmail.delivery.Acceptance.Recipient;
import org.darwinmail.delivery.Outbound;
import org.darwinmail.guard.HarvestGuard;
import org.darwinmail.guard.Logins;
import org.darwinmail.guard.SendGuard;
import org.darwinmail.net.Frames;
import org.darwinmail.net.Session;
import org.darwinmail.smtp.SmtpCommand.Auth;
import org.darwinmail.smtp.SmtpCommand.Bdat;
import org.darwinmail.smtp.SmtpCommand.Burl;
import org.darwinmail.smtp.SmtpCommand.Data;
import org.darwinmail.smtp.SmtpCommand.Expn;
import org.darwinmail.smtp.SmtpCommand.Hello;
import org.darwinmail.smtp.SmtpCommand.Help;
import org.darwinmail.smtp.SmtpCommand.Mail;
import org.darwinmail.smtp.SmtpCommand.Noop;
import org.darwinmail.smtp.SmtpCommand.Quit;
import org.darwinmail.smtp.SmtpCommand.Rcpt;
import org.darwinmail.smtp.SmtpCommand.Rset;
import org.darwinmail.smtp.SmtpCommand.StartTls;
import org.darwinmail.smtp.SmtpCommand.Verb;
import org.darwinmail.smtp.SmtpCommand.Vrfy;
import org.darwinmail.store.Account;
import org.darwinmail.store.Addresses;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Directory;
import org.darwinmail.store.StoreException;
import org.darwinmail.urlauth.UrlAuth;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One SMTP connection (RFC 5321), for the MX role (port 25: local recipients only, no AUTH) and for submission
 * (587 with STARTTLS required before AUTH, 465 with implicit TLS; RFC 6409, RFC 8314).
 */
public final class SmtpSession extends Session {
  private static final Logger log = LoggerFactory.getLogger(SmtpSession.class);
  private static final DateTimeFormatter RFC5322 = DateTimeFormatter.RFC_1123_DATE_TIME;

  /** Which listener the session came from. */
  public enum Kind { MX, SUBMISSION, SUBMISSIONS }

  /** BURL commands in one message (RFC 4468 sets no bound; CATENATE's is the same). */
  static final int MAX_BURL_PARTS = 100;

  private final SmtpContext ctx;
  private final SmtpFramer framer;
  private final Kind kind;

  private String helo;
  /** The command being answered, as {@link #logRefusal} names it. */
  private String asked = "connection";
  /** The refusal about to be sent was logged already, with more detail (a failed login names the user). */
  private boolean refusalLogged;
  private boolean extended;
  private Account account;
  private int errors;
  // The mail transaction (RFC 5321 §3.3): sender, recipients, body.
  private MailPath sender;
  private Map<String, String> mailParams;
  private final List<Recipient> recipients = new ArrayList<>();
  private IncomingMessage incoming;
  private boolean bdatUsed;
  private Bdat bdat;
  private Reply bdatError;
  /** BURL commands in this message (RFC 4468): at most {@link #MAX_BURL_PARTS}. */
  private int burlParts;
  private SaslExchange sasl;
  private boolean fromRefused;
  // The abuse guard's view of this transaction (submission only): limits checked at MAIL/RCPT, counted at 250.
  private SendGuard.Tx sendTx;
  // Port 25: the SPF verdict of this transaction (null when the client is trusted or checks are off).
  private org.darwinmail.guard.InboundAuth.Spf spf;
  private boolean quarantine;

  public SmtpSession(SmtpContext ctx, SmtpFramer framer, Kind kind) {
    this.ctx = ctx;
    this.framer = framer;
    this.kind = kind;
  }

  // ---- events -----------------------------------------------------------------------------------------------

  @Override
  protected void onConnect() {
    reply(Reply.greeting(ctx.config().hostname()));
  }

  /**
   * What runs on the event loop: the greeting, EHLO/HELO, NOOP, QUIT, HELP, VRFY, EXPN, DATA (a message starts in
   * memory), message data while it fits in memory, the end of a connection between messages, and MAIL and RCPT when
   * they need no lookup (below). Each command handed to the session's virtual thread costs two thread wake-ups; at
   * concurrency 1 on two cores that was a fifth of the time per message (bench-smtp).
   */
  @Override
  protected boolean inline(Object frame) {
    return switch (frame) {
      case Frames.Connected c -> true;
      case Frames.Idle i -> true;
      case Frames.Expired e -> true;
      case Frames.Closed c -> incoming == null;
      case Frames.Line l -> sasl == null && incoming == null && answeredFromMemory(l.text());
      // A piece of message data that the message's buffer keeps (no file, no directory read): on the event loop, so
      // that a small message costs one hand-off (its end, which journals it), not one per piece read.
      case Frames.Chunk c -> incoming != null && bdatError == null
          && incoming.staysInMemory(c.bytes().length, kind == Kind.MX);
      default -> false;
    };
  }

  private boolean answeredFromMemory(String line) {
    try {
      SmtpCommand cmd = SmtpCommand.parse(line);
      return Verb.of(cmd).fromMemory || switch (cmd) {
        // MX mail from a trusted network: no DNSBL, SPF or sending limits to look up.
        case Mail m -> kind == Kind.MX && !ctx.guard().inbound().applies(remoteAddress().getAddress());
        case Rcpt r -> recipientInMemory(r);
        default -> false;
      };
    } catch (SmtpException e) {
      return false; // answered with its error on the session's thread, like any other line
    }
  }

  /**
   * A local recipient already resolved (no database read), with no quota to check (that reads the store), for an
   * unauthenticated client not being slowed down for probing (that sleeps).
   */
  private boolean recipientInMemory(Rcpt r) {
    if (account != null || r.to().domain() == null || !r.params().isEmpty()) {
      return false;
    }
    HarvestGuard.Verdict v = ctx.guard().harvest().check(remoteAddress().getAddress());
    if (v.refuse() || !v.delay().isZero()) {
      return false;
    }
    return ctx.directory().cachedResolution(r.to().address())
        .filter(res -> !res.accounts().isEmpty() && res.remote().isEmpty()
            && res.accounts().stream().allMatch(a -> a.limitBytes() == 0))
        .isPresent();
  }

  @Override
  protected void onIdle() {
    asked = "(idle)";
    reply(Reply.IDLE_TIMEOUT);
    close();
  }

  @Override
  protected void onExpired() {
    asked = "(session time)";
    reply(Reply.SESSION_TIMEOUT);
    close();
  }

  @Override
  protected void onClose() {
    resetTransaction();
  }

  @Override
  protected void internalError() {
    reply(Reply.internalError(id()));
    resetTransaction();
  }

  @Override
  protected void onFrame(Object frame) {
    switch (frame) {
      case Frames.Line l -> line(l.text());
      case Frames.LineTooLong t -> {
        asked = "(a line too long)";
        error(Reply.LINE_TOO_LONG);
      }
      case Frames.Chunk c -> chunk(c.bytes());
      case Frames.DataEnd e -> dataEnd(e.bareLineEnding());
      case Frames.ChunkEnd e -> bdatEnd();
      default -> log.warn("[{}] unexpected frame {}", id(), frame);
    }
  }

  private void line(String text) {
    if (sasl != null) {
      saslResponse(text);
      return;
    }
    SmtpCommand cmd;
    try {
      cmd = SmtpCommand.parse(text);
    } catch (SmtpException e) {
      asked = malformed(text);
      error(e.reply());
      return;
    }
    asked = logged(cmd);
    try {
      Reply pre = precondition(Verb.of(cmd));
      if (pre == null && Verb.of(cmd).takesMail && ctx.blobs().capacity().full()) {
        pre = Reply.STORAGE_FULL; // nothing is taken that might not be stored (README, "A full disk")
      }
      if (pre != null) {
        refuse(cmd, pre);
        return;
      }
      switch (cmd) {
        case Hello h -> hello(h);
        case Mail m -> mail(m);
        case Rcpt r -> rcpt(r);
        case Data d -> data();
        case Bdat b -> bdatStart(b);
        case Burl b -> burl(b);
        case Rset r -> {
          resetTransaction();
          reply(Reply.RESET);
        }
        case Noop n -> reply(Reply.OK);
        case Quit q -> {
          reply(Reply.BYE);
          close();
        }
        case Vrfy v -> reply(Reply.VRFY);
        case Expn x -> reply(Reply.EXPN);
        case Help h -> reply(Reply.HELP);
        case StartTls s -> startTls();
        case Auth a -> auth(a);
      }
    } catch (SmtpException e) {
      refuse(cmd, e.reply());
    }
  }

  /**
   * The states in which each command is allowed, and what it needs (TLS, AUTH), checked once before dispatch: HELO
   * first from the command table ({@link Verb}), then what the session offers ({@link #offer}), then the
   * transaction's state. Returns the refusal, or null.
   */
  private Reply precondition(Verb v) {
    if (v.needsHello && helo == null) {
      return Reply.NEED_HELO;
    }
    Reply notOffered = offer(v);
    if (notOffered != null) {
      return notOffered;
    }
    return switch (v) {
      case AUTH -> sender != null ? Reply.BAD_SEQUENCE : null;
      case MAIL -> sender != null ? Reply.NESTED_MAIL : null;
      case RCPT -> sender == null ? Reply.NEED_MAIL : null;
      case DATA -> sender == null ? Reply.NEED_MAIL : bdatUsed ? Reply.BDAT_AFTER_DATA
          : recipients.isEmpty() ? Reply.NEED_RCPT : null;
      case BDAT -> sender == null ? Reply.NEED_MAIL : recipients.isEmpty() ? Reply.NEED_RCPT : null;
      case BURL -> sender == null ? Reply.NEED_MAIL : recipients.isEmpty() ? Reply.NEED_RCPT : null;
      // Allowed in every state (RFC 5321 §4.1.4). No default: a new command must say where it is allowed.
      case STARTTLS, HELLO, RSET, NOOP, QUIT, VRFY, EXPN, HELP -> null;
    };
  }

  /**
   * What this port, TLS and the login allow of a command, whatever the transaction's state: the refusal, or null when
   * the command is offered now. EHLO announces a command's keyword exactly when this is null.
   */
  private Reply offer(Verb v) {
    return switch (v) {
      case STARTTLS -> isTls() ? Reply.TLS_ACTIVE : ctx.tls() == null ? Reply.TLS_UNAVAILABLE : null;
      case AUTH -> kind == Kind.MX ? Reply.AUTH_NOT_OFFERED : !isTls() ? Reply.TLS_REQUIRED
          : account != null ? Reply.ALREADY_AUTHENTICATED : null;
      case MAIL -> kind != Kind.MX && account == null ? (isTls() ? Reply.AUTH_REQUIRED : Reply.TLS_REQUIRED) : null;
      // RFC 4468 §3.1, §5: a submission extension, and the URL is resolved as the authenticated user
      case BURL -> kind == Kind.MX ? Reply.BURL_NOT_OFFERED
          : account == null ? (isTls() ? Reply.AUTH_REQUIRED : Reply.TLS_REQUIRED) : null;
      case HELLO, RCPT, DATA, BDAT, RSET, NOOP, QUIT, VRFY, EXPN, HELP -> null;
    };
  }

  /** A refused command; DATA and STARTTLS paused the framer, BDAT still has its chunk coming. */
  private void refuse(SmtpCommand cmd, Reply r) {
    switch (cmd) {
      case Data d -> {
        error(r);
        framer.resume();
      }
      case StartTls s -> {
        error(r);
        framer.resume();
      }
      case Bdat b -> {
        bdat = b;
        bdatError = r;
        if (b.size() == 0) {
          bdatEnd();
        }
      }
      default -> error(r);
    }
  }

  // ---- commands ---------------------------------------------------------------------------------------------

  /** RFC 5321 §4.1.1.1; the EHLO keywords of the extensions we implement. */
  private void hello(Hello h) {
    resetTransaction();
    helo = h.domain();
    extended = h.extended();
    String greet = ctx.config().hostname() + " greets " + h.domain();
    if (!h.extended()) {
      reply(Reply.hello(List.of(greet)));
      return;
    }
    List<String> lines = new ArrayList<>();
    lines.add(greet);
    lines.add("PIPELINING"); // RFC 2920
    lines.add("SIZE " + ctx.config().smtp().maxMessageSize()); // RFC 1870
    lines.add("8BITMIME"); // RFC 6152
    lines.add("ENHANCEDSTATUSCODES"); // RFC 2034
    lines.add("SMTPUTF8"); // RFC 6531
    for (Verb v : Verb.values()) { // the keywords of commands, from the command table, while they are offered
      if (v.keyword != null && offer(v) == null) {
        lines.add(v.keyword);
      }
    }
    lines.add("HELP");
    reply(Reply.hello(lines));
  }

  /** RFC 5321 §4.1.1.2 with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), AUTH (RFC 4954 §5). */
  private void mail(Mail m) {
    Map<String, String> params = new LinkedHashMap<>();
    for (var e : m.params().entrySet()) {
      String v = e.getValue();
      switch (e.getKey()) {
        case "SIZE" -> {
          if (v == null || v.isEmpty() || v.length() > 18 || !v.chars().allMatch(Character::isDigit)) {
            throw new SmtpException(Reply.BAD_SIZE);
          }
          if (Long.parseLong(v) > ctx.config().smtp().maxMessageSize()) {
            throw new SmtpException(Reply.TOO_BIG);
          }
        }
        case "BODY" -> {
          if (v == null || !(v.equalsIgnoreCase("7BIT") || v.equalsIgnoreCase("8BITMIME"))) {
            throw new SmtpException(Reply.BAD_BODY);
          }
        }
        case "SMTPUTF8" -> {
          if (v != null) {
            throw new SmtpException(Reply.SMTPUTF8_VALUE);
          }
        }
        case "AUTH" -> {
          // RFC 4954 §5: accepted and not trusted; the authenticated identity is ours to know.
        }
        default -> throw new SmtpException(Reply.unsupportedParameter(e.getKey()));
      }
      params.put(e.getKey(), v);
    }
    if (!m.from().isAscii() && !params.containsKey("SMTPUTF8")) {
      throw new SmtpException(Reply.SMTPUTF8_REQUIRED);
    }
    checkSender(m.from());
    if (kind == Kind.MX && ctx.guard().inbound().applies(remoteAddress().getAddress())) {
      String listed = ctx.guard().inbound().dnsblListing(remoteAddress().getAddress());
      if (listed != null) {
        throw new SmtpException(Reply.listed(listed));
      }
      spf = ctx.guard().inbound().spf(remoteAddress().getAddress(), helo, m.from().address());
    }
    if (account != null) {
      sendTx = ctx.guard().sends().begin(account.address());
      if (!sendTx.verdict().ok()) {
        // A policy answer, not a bad command: it does not count towards max_errors.
        reply(refusal(sendTx.verdict()));
        sendTx = null;
        return;
      }
    }
    sender = m.from();
    mailParams = params;
    reply(Reply.SENDER_OK);
  }

  /**
   * On submission the envelope sender must be the account or one of its aliases (RFC 6409 §6.1); on port 25 any
   * sender is taken (SPF and DMARC judge it).
   */
  private void checkSender(MailPath from) {
    if (kind == Kind.MX) {
      return;
    }
    if (from.isNull()) {
      return;
    }
    if (!owns(from.address())) {
      throw new SmtpException(Reply.SENDER_NOT_OWNED);
    }
  }

  /**
   * The account's own address or one of its aliases, or either with a sub-address ("user+tag", RFC 5233) unless
   * that full address is someone else's account or alias.
   */
  private boolean owns(String address) {
    String a = Addresses.normalize(address);
    if (a == null) {
      return false;
    }
    List<String> aliases = ctx.directory().aliasesOf(account.address());
    if (a.equals(account.address()) || aliases.contains(a)) {
      return true;
    }
    String base = Directory.withoutDetail(a);
    if (base.equals(a) || !(base.equals(account.address()) || aliases.contains(base))) {
      return false;
    }
    Directory.Resolution full = ctx.directory().resolve(a);
    Directory.Resolution own = ctx.directory().resolve(base);
    return full.accounts().equals(own.accounts()) && full.remote().equals(own.remote()); // no account/alias of its own
  }

  /** RFC 5321 §4.1.1.3: local recipients on every port; remote ones only for an authenticated account. */
  private void rcpt(Rcpt r) {
    if (!r.params().isEmpty()) {
      throw new SmtpException(Reply.RCPT_PARAMETER);
    }
    if (recipients.size() >= ctx.config().smtp().maxRecipients()) {
      throw new SmtpException(Reply.TOO_MANY_RECIPIENTS);
    }
    if (account == null && harvestRefused(ctx.guard().harvest().check(remoteAddress().getAddress()))) {
      return;
    }
    MailPath to = r.to();
    if (!to.isAscii() && !mailParams.containsKey("SMTPUTF8")) {
      throw new SmtpException(Reply.SMTPUTF8_REQUIRED);
    }
    String address = to.domain() == null ? ctx.acceptance().postmaster() : to.address();
    String domain = to.domain() == null ? Addresses.domainOf(address) : to.domain();
    if (domain.startsWith("[") || !ctx.directory().isLocalDomain(domain)) {
      if (account == null) {
        throw new SmtpException(Reply.RELAY_DENIED);
      }
      if (!ctx.acceptance().relays() || domain.startsWith("[")) {
        throw new SmtpException(Reply.cannotDeliverTo(domain));
      }
      guarded(sendTx.rcpt(address));
      recipients.add(new Recipient(address, new Directory.Resolution(List.of(), List.of(address))));
      reply(Reply.RECIPIENT_OK);
      return;
    }
    Directory.Resolution res = ctx.directory().resolve(address);
    if (res.isEmpty()) {
      if (account == null && harvestRefused(ctx.guard().harvest().unknown(remoteAddress().getAddress()))) {
        return;
      }
      throw new SmtpException(Reply.NO_SUCH_USER);
    }
    long declared = parseSize();
    for (Account a : res.accounts()) {
      if (ctx.acceptance().overQuota(a, declared)) {
        throw new SmtpException(Reply.MAILBOX_FULL);
      }
    }
    if (!res.remote().isEmpty() && !ctx.acceptance().relays()) {
      throw new SmtpException(Reply.NO_FORWARDING);
    }
    if (sendTx != null) {
      guarded(sendTx.rcpt(address));
    }
    recipients.add(new Recipient(address, res));
    reply(Reply.RECIPIENT_OK);
  }

  /** The abuse guard's verdict on a submission: 451 4.7.1 over a rate limit, 550 5.7.1 when blocked. */
  private static void guarded(SendGuard.Verdict v) {
    if (!v.ok()) {
      throw new SmtpException(refusal(v));
    }
  }

  /** A verdict other than OK in SMTP's words. */
  private static Reply refusal(SendGuard.Verdict v) {
    return v.outcome() == SendGuard.Outcome.BLOCKED ? Reply.blocked(v.reason()) : Reply.limited(v.reason());
  }

  /**
   * Directory-harvest slowing: sleeps the verdict's delay (a virtual thread), or answers 421 and closes when the
   * client address has probed too many unknown recipients. Returns true when the session was closed.
   */
  private boolean harvestRefused(HarvestGuard.Verdict v) {
    if (v.refuse()) {
      reply(Reply.HARVEST_CLOSE);
      close();
      return true;
    }
    if (!v.delay().isZero()) {
      try {
        Thread.sleep(v.delay());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return false;
  }

  private long parseSize() {
    String v = mailParams.get("SIZE");
    return v == null ? 0 : Long.parseLong(v);
  }

  /** RFC 5321 §4.1.1.4. The framer is paused on DATA; it resumes in DATA mode only after our 354. */
  private void data() {
    openMessage();
    reply(Reply.START_DATA);
    flush();
    framer.resume(framer::startData);
  }

  private void bdatStart(Bdat b) {
    bdat = b;
    bdatError = null;
    if (incoming == null) {
      openMessage();
    }
    bdatUsed = true;
    if (b.size() == 0) {
      bdatEnd();
    }
  }

  /**
   * RFC 4468 §3.2-3.4: the data the URL names (resolved against the local store for "submit+" the account, §5) is
   * the next part of the message, after the BDAT chunks and BURL parts before it; LAST ends the message. A URL
   * that does not resolve ends the transaction (RFC 4468 §6 codes) with nothing delivered, as a refused BDAT does.
   */
  private void burl(Burl b) {
    if (incoming == null) {
      openMessage();
    }
    bdatUsed = true;
    if (++burlParts > MAX_BURL_PARTS) {
      resetTransaction();
      error(Reply.BURL_TOO_MANY);
      return;
    }
    UrlAuth.Part part;
    try {
      part = ctx.urlAuth().resolve(b.url(), UrlAuth.submitter(account.address()));
    } catch (UrlAuth.Refused e) {
      // one line for this refusal, with why (logRefusal's format); the URL holds a token: not logged
      log.info("[{}] {} ({}) BURL: refused ({})", id(), remoteAddress().getAddress().getHostAddress(),
          account.address(), e.getMessage());
      refusalLogged = true;
      resetTransaction();
      error(switch (e.failure) {
        case UNAUTHORIZED -> Reply.BURL_UNAUTHORIZED;
        case FOREIGN -> Reply.BURL_TRUST;
        case SYNTAX, NOT_FOUND -> Reply.BURL_UNRESOLVED;
      });
      return;
    }
    if (incoming.size() + part.size() > ctx.config().smtp().maxMessageSize()) {
      finishWith(Reply.TOO_BIG); // RFC 4468 §6: before a byte of the part is copied
      return;
    }
    try (java.io.InputStream in = ctx.urlAuth().open(part)) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) > 0; ) {
        incoming.write(n == buf.length ? buf : java.util.Arrays.copyOf(buf, n));
      }
    } catch (IOException e) {
      Reply r = storageFailure("cannot copy a BURL part", e);
      resetTransaction();
      reply(r);
      return;
    }
    if (b.last()) {
      finishMessage();
    } else if (incoming.tooBig()) {
      finishWith(Reply.TOO_BIG);
    } else {
      reply(Reply.BURL_MORE);
    }
  }

  private void openMessage() {
    fromRefused = false;
    // A message checked with SPF/DKIM/DMARC gets it above its Authentication-Results: (checked).
    String trace = (spf != null ? "" : returnPath()) + receivedHeader();
    incoming = new IncomingMessage(ctx.blobs().create(), trace, ctx.config().smtp().maxMessageSize(),
        ctx.config().smtp().maxReceivedHeaders(), this::extraHeaders);
  }

  private void chunk(byte[] bytes) {
    if (incoming == null || bdatError != null) {
      return; // a refused BDAT: its chunk is read and dropped (RFC 3030 §2)
    }
    try {
      incoming.write(bytes);
    } catch (IOException e) {
      Reply r = storageFailure("cannot write a blob", e);
      incoming.abort();
      incoming = null;
      if (bdat != null) {
        bdatError = r;
      }
    }
  }

  private void dataEnd(boolean bareLineEnding) {
    if (incoming == null) {
      reply(storageReply());
      resetTransaction();
      return;
    }
    if (bareLineEnding) {
      finishWith(Reply.BARE_LINE_ENDING);
      return;
    }
    finishMessage();
  }

  private void bdatEnd() {
    Bdat b = bdat;
    bdat = null;
    if (bdatError != null) {
      Reply r = bdatError;
      bdatError = null;
      error(r);
      if (incoming != null) {
        resetTransaction();
      }
      return;
    }
    if (incoming == null) {
      error(storageReply());
      resetTransaction();
      return;
    }
    if (b != null && b.last()) {
      finishMessage();
    } else if (incoming.tooBig()) {
      finishWith(Reply.TOO_BIG);
    } else {
      reply(Reply.octetsReceived(b == null ? 0 : b.size()));
    }
  }

  private void finishWith(Reply r) {
    incoming.abort();
    incoming = null;
    resetTransaction();
    reply(r);
  }

  /**
   * Makes the message durable (blob, then rows / queue entries) and only then answers 250 (ARCHITECTURE.md,
   * "Durability rules").
   */
  private void finishMessage() {
    IncomingMessage msg = incoming;
    if (msg.tooBig()) {
      finishWith(Reply.TOO_BIG);
      return;
    }
    if (ctx.blobs().capacity().full()) {
      finishWith(Reply.STORAGE_FULL); // the disk filled while the data came: nothing stored, nothing acknowledged
      return;
    }
    if (sendTx != null) {
      SendGuard.Verdict v = sendTx.accept(); // counted here, atomically: the 250 below is one more message sent
      if (!v.ok()) {
        finishWith(refusal(v));
        return;
      }
    }
    BlobRef blob;
    BlobStore.Small small = null;
    try {
      if (spf != null) {
        blob = checked(msg);
        if (blob == null) {
          return;
        }
      } else if ((small = msg.small()) != null) {
        blob = small.ref(); // made durable by deliver()
      } else {
        blob = msg.commit();
      }
    } catch (SmtpException e) {
      finishWith(e.reply());
      return;
    } catch (IOException e) {
      finishWith(storageFailure("cannot store a message", e));
      return;
    }
    incoming = null;
    if (fromRefused) {
      // A small body was never stored; a larger one is durable but unreferenced: the blob sweep removes it.
      resetTransaction();
      reply(Reply.FROM_NOT_OWNED);
      return;
    }
    try {
      deliver(blob, small, msg.messageId());
    } catch (StoreException | IOException e) {
      Reply r = storageFailure("cannot deliver " + blob.hash(), e);
      resetTransaction();
      reply(r);
      return;
    }
    log.info("[{}] accepted {} bytes from <{}> for {} recipient(s) as {}", id(), blob.size(), sender.address(),
        recipients.size(), blob.hash().substring(0, 12));
    resetTransaction();
    reply(Reply.queuedAs(blob.hash().substring(0, 12)));
  }

  /**
   * SPF, DKIM and DMARC (RFC 7208, 6376, 7489) on mail from the Internet: the message is checked in its temporary
   * file, then stored durably once with an Authentication-Results header (RFC 8601) on top. Returns null when the
   * DMARC policy refused it (answered here).
   */
  private BlobRef checked(IncomingMessage msg) throws IOException {
    java.nio.file.Path staged = msg.stage();
    org.darwinmail.guard.InboundAuth.Checked checked = ctx.guard().inbound().check(spf, staged);
    if (checked.reject()) {
      msg.abort();
      incoming = null;
      resetTransaction();
      reply(Reply.dmarcReject(checked.dmarc().fromDomain()));
      return null;
    }
    quarantine = checked.quarantine();
    BlobRef blob = ctx.guard().inbound().withHeader(ctx.blobs(), staged, returnPath() + checked.header());
    msg.abort(); // the temporary file; the stored copy is the one with the header
    return blob;
  }

  /** Hands the message to the one acceptance service (ARCHITECTURE.md, "The data path of one message"). */
  private void deliver(BlobRef blob, BlobStore.Small small, String messageId) throws IOException {
    ctx.acceptance().accept(new Acceptance.Envelope(sender.address(), List.copyOf(recipients),
        mailParams.containsKey("SMTPUTF8"), account == null ? null : account.address(), quarantine), blob, small,
        new Outbound.Origin(remoteAddress().getAddress().getHostAddress(), messageId));
  }

  /**
   * RFC 5321 §4.4: Return-Path: at final delivery, first in the message; mail also relayed is received without it
   * and its local copy made with it ({@link Acceptance#receivedReturnPath}).
   */
  private String returnPath() {
    return Acceptance.receivedReturnPath(sender.address(), recipients);
  }

  /** The trace header (RFC 5321 §4.4), with the protocol type of RFC 3848 / RFC 6531. */
  private String receivedHeader() {
    String ip = remoteAddress().getAddress().getHostAddress();
    String with = (mailParams.containsKey("SMTPUTF8") ? "UTF8SMTP" : extended ? "ESMTP" : "SMTP")
        + (isTls() ? "S" : "") + (account != null ? "A" : "");
    if (with.equals("SMTPS") || with.equals("SMTPA") || with.equals("SMTPSA")) {
      with = "E" + with;
    }
    String forClause = recipients.size() == 1 ? "\r\n\tfor <" + recipients.getFirst().address() + ">" : "";
    return "Received: from " + sanitize(helo) + " ([" + ip + "])\r\n\tby " + ctx.config().hostname()
        + " (Darwin Mail) with " + with + " id " + id() + forClause + ";\r\n\t"
        + RFC5322.format(ZonedDateTime.now()) + "\r\n";
  }

  /** A HELO name goes into a header: keep it printable and short. */
  private static String sanitize(String s) {
    String t = s.replaceAll("[^\\x21-\\x7e]", "?");
    return t.length() > 100 ? t.substring(0, 100) : t;
  }

  /**
   * Headers to add in front of the message's own. Submission adds Date: and Message-ID: when missing
   * (RFC 6409 §8.2, §8.3).
   */
  private String extraHeaders(List<IncomingMessage.Header> headers) {
    if (kind == Kind.MX) {
      return "";
    }
    fromRefused = !fromOwned(headers);
    StringBuilder sb = new StringBuilder();
    if (headers.stream().noneMatch(h -> h.name().equalsIgnoreCase("Date"))) {
      sb.append("Date: ").append(RFC5322.format(ZonedDateTime.now())).append("\r\n");
    }
    if (headers.stream().noneMatch(h -> h.name().equalsIgnoreCase("Message-ID"))) {
      sb.append("Message-ID: <").append(java.util.UUID.randomUUID()).append('@').append(ctx.config().hostname())
          .append(">\r\n");
    }
    return sb.toString();
  }

  /**
   * Every address in the From: header must be the account or one of its aliases, as for the envelope sender
   * (RFC 6409 §6.1; issue 5): a message whose From: names someone else is refused with 553 5.7.1.
   */
  private boolean fromOwned(List<IncomingMessage.Header> headers) {
    for (IncomingMessage.Header h : headers) {
      if (!h.name().equalsIgnoreCase("From")) {
        continue;
      }
      // Linear scans only: the header is the client's text (issue 23: no backtracking regex over it).
      String v = org.darwinmail.mime.HeaderText.strip(h.value(), true);
      List<String> found = new ArrayList<>();
      if (v.indexOf('<') >= 0) {
        int open = -1; // each <...> holding neither < nor >
        for (int i = 0; i < v.length(); i++) {
          if (v.charAt(i) == '<') {
            open = i;
          } else if (v.charAt(i) == '>' && open >= 0) {
            found.add(v.substring(open + 1, i));
            open = -1;
          }
        }
      } else {
        for (String token : v.split("[\\s,;:<>]+")) {
          int at = token.indexOf('@');
          if (at > 0 && token.lastIndexOf('@') < token.length() - 1) {
            found.add(token);
          }
        }
      }
      boolean any = !found.isEmpty();
      for (String f : found) {
        if (!owns(f)) {
          return false;
        }
      }
      if (!any) {
        return false;
      }
    }
    return true;
  }

  // ---- STARTTLS and AUTH ------------------------------------------------------------------------------------

  /** RFC 3207 §4: the session starts over after the handshake (no HELO, no transaction). */
  private void startTls() {
    resetTransaction();
    helo = null;
    ctx.tls().startTls(channelAfterPending(), framer, Reply.READY_TLS.lines()[0]);
  }

  /** The state of a SASL exchange in progress (RFC 4954 §4): PLAIN without initial response, or LOGIN. */
  private record SaslExchange(String mechanism, String user) {}

  /** RFC 4954 with PLAIN (RFC 4616) and LOGIN. */
  private void auth(Auth a) {
    switch (a.mechanism()) {
      case "PLAIN" -> {
        if (a.initialResponse() == null) {
          sasl = new SaslExchange("PLAIN", null);
          send("334 ");
        } else {
          plain(a.initialResponse());
        }
      }
      case "LOGIN" -> {
        if (a.initialResponse() == null) {
          sasl = new SaslExchange("LOGIN", null);
          reply334("Username:");
        } else {
          String user = loginField(a.initialResponse(), true);
          if (user == null) {
            return;
          }
          sasl = new SaslExchange("LOGIN", user);
          reply334("Password:");
        }
      }
      default -> error(Reply.AUTH_MECHANISM_UNKNOWN);
    }
  }

  private void reply334(String prompt) {
    send("334 " + Base64.getEncoder().encodeToString(prompt.getBytes(StandardCharsets.US_ASCII)));
  }

  private void saslResponse(String text) {
    SaslExchange ex = sasl;
    sasl = null;
    if (text.equals("*")) {
      error(Reply.AUTH_CANCELLED);
      return;
    }
    if (ex.mechanism().equals("PLAIN")) {
      plain(text);
    } else if (ex.user() == null) {
      String user = loginField(text, true);
      if (user != null) {
        sasl = new SaslExchange("LOGIN", user);
        reply334("Password:");
      }
    } else {
      String pw = loginField(text, false);
      if (pw != null) {
        login(ex.user(), pw);
      }
    }
  }

  /** PLAIN (RFC 4616 §2), decoded by {@link Sasl#plain}. */
  private void plain(String b64) {
    switch (Sasl.plain(b64)) {
      case Sasl.Credentials c -> login(c.user(), c.password());
      case Sasl.Refused r -> error(Reply.refusedSasl(r.failure(), "PLAIN"));
    }
  }

  /** A LOGIN field (the user name or the password), decoded by {@link Sasl#login}; null when refused (answered). */
  private String loginField(String b64, boolean userName) {
    return switch (Sasl.login(b64, userName)) {
      case Sasl.Text t -> t.value();
      case Sasl.Refused r -> {
        error(Reply.refusedSasl(r.failure(), "LOGIN"));
        yield null;
      }
    };
  }

  /** Every AUTH ends here: the one login attempt (ARCHITECTURE.md, "The abuse guard and login throttling"). */
  private void login(String user, String password) {
    String ip = remoteAddress().getAddress().getHostAddress();
    switch (ctx.logins().attempt(user, password, remoteAddress().getAddress())) {
      case Logins.Locked l -> {
        log.info("[{}] SMTP login for {} from {} refused: locked out", id(), user, ip);
        refusalLogged = true;
        error(Reply.LOGIN_LOCKED);
      }
      case Logins.Failed f -> {
        log.info("[{}] failed SMTP login for {} from {}", id(), user, ip);
        refusalLogged = true;
        error(Reply.AUTH_INVALID);
      }
      case Logins.Ok<Account> ok -> {
        account = ok.account();
        log.info("[{}] SMTP login {} from {}", id(), account.address(), ip);
        reply(Reply.AUTH_OK);
      }
    }
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  private void resetTransaction() {
    sendTx = null;
    spf = null;
    quarantine = false;
    sender = null;
    mailParams = null;
    recipients.clear();
    bdatUsed = false;
    burlParts = 0;
    if (incoming != null) {
      incoming.abort();
      incoming = null;
    }
  }

  private void reply(Reply r) {
    if (r.code() >= 400) {
      logRefusal(r);
    }
    for (String l : r.lines()) {
      send(l);
    }
  }

  /**
   * One log line per refusal (relay denied, unknown user, bare LF, limits, policy, bad commands, the 421 that ends
   * a session): session id, client address, account, what was asked, the reply. Never a credential: AUTH is
   * logged by its mechanism only (its own lines name the user), and a line that is no command by its verb only.
   */
  private void logRefusal(Reply r) {
    if (r == Reply.STORAGE_FULL) {
      return; // the disk's state has its own log line (README, "A full disk"), not one per refused command
    }
    if (refusalLogged) {
      refusalLogged = false;
      return;
    }
    log.info("[{}] {}{} {}: refused {}", id(), remoteAddress().getAddress().getHostAddress(),
        account == null ? "" : " (" + account.address() + ")", asked, r.lines()[0]);
  }

  /** What the log says was asked: the verb, the path of MAIL and RCPT, the name given to HELO, AUTH's mechanism. */
  private static String logged(SmtpCommand cmd) {
    return switch (cmd) {
      case Mail m -> "MAIL FROM:<" + sanitize(m.from().address()) + ">";
      case Rcpt r -> "RCPT TO:<" + sanitize(r.to().address()) + ">";
      case Hello h -> (h.extended() ? "EHLO " : "HELO ") + sanitize(h.domain());
      case Auth a -> "AUTH " + sanitize(a.mechanism());
      default -> Verb.of(cmd).words.getFirst();
    };
  }

  /** A line that did not parse: its verb when it is one (its arguments could be anything), else nothing of it. */
  private static String malformed(String line) {
    String verb = line.strip().split(" ", 2)[0].toUpperCase(java.util.Locale.ROOT);
    return Verb.known(verb) ? "malformed " + verb : "unrecognised command";
  }

  /**
   * The answer to a failed write: 452 4.3.1 when the disk is full (its state has its own log line; no line per
   * refused message), else 451 4.3.0 with the failure in the log.
   */
  private Reply storageFailure(String what, Exception e) {
    Reply r = storageReply();
    if (r == Reply.STORAGE_FULL) {
      log.debug("[{}] {}: {}", id(), what, e.toString());
    } else {
      log.error("[{}] {}", id(), what, e);
    }
    return r;
  }

  /** After a failed write: 452 4.3.1 when the disk is full now, else 451 4.3.0. */
  private Reply storageReply() {
    return ctx.blobs().capacity().recheck() ? Reply.STORAGE_FULL : Reply.STORAGE_FAILURE;
  }

  /** A 5xx/4xx for a bad command; too many of them close the session (RFC 5321 §4.5.3.2: no endless abuse). */
  private void error(Reply r) {
    reply(r);
    // A full disk is the server's state, not the client's error.
    if (r != Reply.STORAGE_FULL && ++errors >= ctx.config().smtp().maxErrors()) {
      reply(Reply.TOO_MANY_ERRORS);
      close();
    }
  }
}
