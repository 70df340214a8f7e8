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
  public static final Reply HELP = new Reply(214, "2.0.0",
      "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
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
