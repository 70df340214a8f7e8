package org.darwinmail.smtp;

/**
 * An SMTP reply: code, enhanced status code (RFC 3463) and text. The named replies below are the ones the
 * session uses; a reply is thrown as {@link SmtpException} where a handler cannot go on.
 */
public record Reply(int code, String status, String text) {
  public static final Reply OK = new Reply(250, "2.0.0", "OK");
  public static final Reply SENDER_OK = new Reply(250, "2.1.0", "Sender OK");
  public static final Reply RECIPIENT_OK = new Reply(250, "2.1.5", "Recipient OK");
  public static final Reply RESET = new Reply(250, "2.0.0", "Reset");
  public static final Reply BYE = new Reply(221, "2.0.0", "Bye");
  public static final Reply START_DATA = new Reply(354, null, "Send the message, end with <CRLF>.<CRLF>");
  public static final Reply VRFY = new Reply(252, "2.1.5", "Cannot VRFY a user, but will accept mail and try to deliver it");
  public static final Reply EXPN = new Reply(502, "5.5.1", "EXPN is not available");
  /** RFC 5321 §4.1.1.8, from the command table. */
  public static final Reply HELP = new Reply(214, "2.0.0", "Commands: " + SmtpCommand.Verb.helpList());
  public static final Reply READY_TLS = new Reply(220, "2.0.0", "Ready to start TLS");
  public static final Reply SYNTAX = new Reply(500, "5.5.2", "Syntax error, command unrecognised");
  public static final Reply LINE_TOO_LONG = new Reply(500, "5.5.6", "Line too long");
  public static final Reply BAD_SEQUENCE = new Reply(503, "5.5.1", "Bad sequence of commands");
  public static final Reply NEED_HELO = new Reply(503, "5.5.1", "Say EHLO or HELO first");
  public static final Reply NEED_MAIL = new Reply(503, "5.5.1", "Need MAIL before RCPT");
  public static final Reply NEED_RCPT = new Reply(554, "5.5.1", "No valid recipients");
  public static final Reply NESTED_MAIL = new Reply(503, "5.5.1", "Sender already given");
  public static final Reply TLS_ACTIVE = new Reply(503, "5.5.1", "TLS already active");
  public static final Reply TLS_UNAVAILABLE = new Reply(454, "4.7.0", "TLS not available");
  public static final Reply TLS_REQUIRED = new Reply(530, "5.7.0", "Must issue a STARTTLS command first");
  public static final Reply RELAY_DENIED = new Reply(550, "5.7.1", "Relaying denied");
  public static final Reply NO_SUCH_USER = new Reply(550, "5.1.1", "No such user here");
  public static final Reply TOO_MANY_RECIPIENTS = new Reply(452, "4.5.3", "Too many recipients");
  public static final Reply TOO_BIG = new Reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
  public static final Reply BARE_LINE_ENDING = new Reply(550, "5.6.2",
      "Message refused: bare CR or LF line ending (RFC 5321 section 2.3.8)");
  public static final Reply MAIL_LOOP = new Reply(554, "5.4.6", "Too many Received: headers: mail loop");
  public static final Reply MAILBOX_FULL = new Reply(452, "4.2.2", "Mailbox full");
  public static final Reply STORAGE_FAILURE = new Reply(451, "4.3.0", "Temporary storage failure, try again later");
  /** RFC 5321 §4.2.3 (452: insufficient system storage), RFC 3463 §3.4 (X.3.1: mail system full). */
  public static final Reply STORAGE_FULL = new Reply(452, "4.3.1", "Insufficient system storage, try again later");
  public static final Reply TOO_MANY_ERRORS = new Reply(421, "4.7.0", "Too many errors, closing connection");
  /** The server could not start (its store did not open): RFC 5321 §3.8, RFC 3463 X.3.2. */
  public static final Reply UNAVAILABLE = new Reply(421, "4.3.2", "Service not available, closing connection");
  public static final Reply IDLE_TIMEOUT = new Reply(421, "4.4.2", "Idle timeout, closing connection");
  public static final Reply SESSION_TIMEOUT = new Reply(421, "4.4.2", "Session too long, closing connection");
  public static final Reply SMTPUTF8_REQUIRED = new Reply(553, "5.6.7",
      "Non-ASCII address needs the SMTPUTF8 parameter (RFC 6531)");
  public static final Reply BDAT_AFTER_DATA = new Reply(503, "5.5.1", "BDAT and DATA cannot be mixed");

  // ---- AUTH (RFC 4954 §4, §6) ----
  public static final Reply AUTH_OK = new Reply(235, "2.7.0", "Authentication successful");
  public static final Reply AUTH_INVALID = new Reply(535, "5.7.8", "Authentication credentials invalid");
  public static final Reply LOGIN_LOCKED = new Reply(454, "4.7.0", "Too many failed logins, try again later");

  /**
   * A SASL response the decoder refused: 501 5.5.2 with the reason (RFC 4954 §4), or 535 5.7.8 for an authorization
   * identity other than the user (RFC 4954 §6).
   */
  public static Reply refusedSasl(org.darwinmail.auth.Sasl.Failure f, String mechanism) {
    return f == org.darwinmail.auth.Sasl.Failure.OTHER_AUTHZID ? AUTH_INVALID
        : new Reply(501, "5.5.2", f.text(mechanism));
  }

  // ---- the session's other named replies (RFC 5321 §4.2, RFC 3463 enhanced codes) ----
  public static final Reply AUTH_NOT_OFFERED = new Reply(503, "5.5.1",
      "AUTH is not offered on this port; use submission (587 or 465)");
  public static final Reply ALREADY_AUTHENTICATED = new Reply(503, "5.5.1", "Already authenticated");
  public static final Reply AUTH_REQUIRED = new Reply(530, "5.7.0", "Authentication required");
  public static final Reply AUTH_CANCELLED = new Reply(501, "5.0.0", "Authentication cancelled");
  public static final Reply AUTH_MECHANISM_UNKNOWN = new Reply(504, "5.5.4", "Unrecognized authentication mechanism");
  public static final Reply BAD_SIZE = new Reply(501, "5.5.4", "Bad SIZE value");
  public static final Reply BAD_BODY = new Reply(501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
  public static final Reply SMTPUTF8_VALUE = new Reply(501, "5.5.4", "SMTPUTF8 takes no value");
  public static final Reply RCPT_PARAMETER = new Reply(555, "5.5.4", "Unsupported RCPT parameter");
  public static final Reply SENDER_NOT_OWNED = new Reply(553, "5.7.1",
      "Sender address not owned by the authenticated account");
  public static final Reply FROM_NOT_OWNED = new Reply(553, "5.7.1",
      "From: header address not owned by the authenticated account");
  public static final Reply NO_FORWARDING = new Reply(451, "4.3.0", "Forwarding is not available, try again later");
  public static final Reply HARVEST_CLOSE = new Reply(421, "4.7.0", "Too many unknown recipients, closing connection");
  public static final Reply LOCAL_PART_TOO_LONG = new Reply(553, "5.1.3", "Local part too long");
  public static final Reply BDAT_SYNTAX = new Reply(501, "5.5.4", "Syntax: BDAT size [LAST]");
  public static final Reply BURL_SYNTAX = new Reply(501, "5.5.4", "Syntax: BURL imap-url [LAST]");
  // RFC 4468 §6: BURL's replies
  public static final Reply BURL_NOT_OFFERED = new Reply(503, "5.5.1",
      "BURL is not offered on this port; use submission (587 or 465)");
  public static final Reply BURL_MORE = new Reply(250, "2.5.0", "Waiting for additional BURL or BDAT commands");
  public static final Reply BURL_UNAUTHORIZED = new Reply(554, "5.7.0", "IMAP URL authorization failed");
  public static final Reply BURL_UNRESOLVED = new Reply(554, "5.6.6", "IMAP URL resolution failed");
  // 5.7.14, not RFC 4468's printed 5.7.8 (already "authentication credentials invalid"): verified errata 895, 896
  public static final Reply BURL_TRUST = new Reply(554, "5.7.14", "URL resolution requires trust relationship");
  public static final Reply BURL_TOO_MANY = new Reply(554, "5.5.3", "Too many BURL parts in one message");
  public static final Reply AUTH_SYNTAX = new Reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
  public static final Reply BAD_PARAMETERS = new Reply(501, "5.5.4", "Bad parameters");
  public static final Reply BAD_PARAMETER = new Reply(501, "5.5.4", "Bad parameter");
  public static final Reply REPEATED_PARAMETERS = new Reply(501, "5.5.4", "Too many or repeated parameters");

  /** RFC 5321 §4.2: the greeting. */
  public static Reply greeting(String hostname) {
    return new Reply(220, null, hostname + " ESMTP Darwin Mail ready");
  }

  /** An unexpected failure: the session id leads to the stack trace in the log (STYLE.md, Java server 5). */
  public static Reply internalError(String session) {
    return new Reply(451, "4.3.0", "Internal error, session " + session);
  }

  /** EHLO/HELO (RFC 5321 §4.1.1.1): the greeting line, then one line per EHLO keyword. */
  public static Reply hello(java.util.List<String> lines) {
    return new Reply(250, null, String.join("\n", lines));
  }

  public static Reply unsupportedParameter(String keyword) {
    return new Reply(555, "5.5.4", "Unsupported parameter " + keyword);
  }

  /** DNSBL (RFC 5782): the client's address is listed. */
  public static Reply listed(String zone) {
    return new Reply(554, "5.7.1", "Client address listed by " + zone);
  }

  public static Reply cannotDeliverTo(String domain) {
    return new Reply(550, "5.7.1", "Cannot deliver to " + domain);
  }

  /** The abuse guard's sending limits: 451 4.7.1 (over a rate limit, try later), 550 5.7.1 (blocked). */
  public static Reply limited(String reason) {
    return new Reply(451, "4.7.1", reason);
  }

  public static Reply blocked(String reason) {
    return new Reply(550, "5.7.1", reason);
  }

  /** RFC 3030 §2: a BDAT chunk that is not the last. */
  public static Reply octetsReceived(long size) {
    return new Reply(250, "2.0.0", size + " octets received");
  }

  /** The message is durable (ARCHITECTURE.md, "Durability rules"); its hash prefix names it in the logs. */
  public static Reply queuedAs(String id) {
    return new Reply(250, "2.0.0", "OK queued as " + id);
  }

  /** RFC 7489 §6.6.3: a DMARC reject policy. */
  public static Reply dmarcReject(String fromDomain) {
    return new Reply(550, "5.7.1", "Message refused by the DMARC policy of " + fromDomain);
  }

  /** A command's syntax (RFC 5321 §4.3.2: 501). */
  public static Reply syntax(String usage) {
    return new Reply(501, "5.5.4", "Syntax: " + usage);
  }

  public static Reply noArgument(String verb) {
    return new Reply(501, "5.5.4", verb + " takes no argument");
  }

  public static Reply badAddress(String why) {
    return new Reply(501, "5.1.3", "Bad address syntax: " + why);
  }

  public Reply {
    if (code < 200 || code > 599) {
      throw new IllegalArgumentException("reply code " + code);
    }
  }

  public Reply withText(String t) {
    return new Reply(code, status, t);
  }

  public boolean isPositive() {
    return code < 400;
  }

  /** The reply as wire lines ("250-..." continuation for all but the last), without CRLF. */
  public String[] lines() {
    String[] parts = text.split("\n");
    String[] out = new String[parts.length];
    for (int i = 0; i < parts.length; i++) {
      String sep = i == parts.length - 1 ? " " : "-";
      out[i] = code + sep + (status != null ? status + " " : "") + parts[i];
    }
    return out;
  }
}
