package org.darwinmail.pop3;

/**
 * A POP3 status line (RFC 1939 §3): "+OK" or "-ERR", an optional extended response code in brackets
 * (RFC 2449 §8: IN-USE, LOGIN-DELAY; RFC 3206: SYS/TEMP, SYS/PERM, AUTH) and text. The named replies below are the
 * ones the session uses; a reply is thrown as {@link Pop3Exception} where a handler cannot go on.
 */
public record Reply(boolean ok, String code, String text) {
  public static final Reply GREETING = ok("Darwin Mail POP3 ready");
  public static final Reply USER_OK = ok("Send PASS");
  public static final Reply LOGGED_IN = ok("Logged in");
  public static final Reply BYE = ok("Bye");
  public static final Reply NOOP = ok("");
  public static final Reply DELETED = ok("Message deleted");
  public static final Reply CAPA = ok("Capability list follows");
  public static final Reply BEGIN_TLS = ok("Begin TLS negotiation");
  public static final Reply AUTH_MECHANISMS = ok("Mechanisms follow");

  public static final Reply UNKNOWN = err("Unknown command");
  public static final Reply LINE_TOO_LONG = err("Line too long");
  public static final Reply TOO_MANY_ERRORS = err("Too many errors, closing connection");
  /** The server could not start (its store did not open): RFC 3206 SYS/TEMP. */
  public static final Reply UNAVAILABLE = new Reply(false, "SYS/TEMP", "Service not available, closing connection");
  public static final Reply IDLE_TIMEOUT = err("Idle timeout, closing connection");
  public static final Reply WRONG_STATE = err("Command not valid in this state");
  public static final Reply NEED_USER = err("Send USER first");
  public static final Reply NO_SUCH_MESSAGE = err("No such message");
  public static final Reply ALREADY_DELETED = err("Message already deleted");
  public static final Reply BAD_NUMBER = err("Invalid message number");
  public static final Reply TLS_ACTIVE = err("TLS already active");
  public static final Reply TLS_UNAVAILABLE = err("TLS not available");
  /**
   * RFC 2595 §4 and ARCHITECTURE.md, "Listeners and security rules": no password in the clear, except on loopback.
   */
  public static final Reply TLS_REQUIRED = err("Plaintext login is not allowed without TLS: use STLS first");
  /** RFC 2449 §8.1.2 / RFC 3206 §4: the credentials were wrong; do not retry them. */
  public static final Reply AUTH_FAILED = new Reply(false, "AUTH", "Authentication failed");
  /** LoginGuard lockout: temporary (RFC 3206 §4), the client may try again later. */
  public static final Reply LOCKED_OUT = new Reply(false, "SYS/TEMP",
      "Too many failed logins from here or for this account; try again in 15 minutes");
  /** RFC 2449 §8.1.1: another session holds the maildrop. */
  public static final Reply IN_USE = new Reply(false, "IN-USE", "Mailbox is in use by another POP3 session");
  /** The maildrop would not fit in the heap the mailboxes all sessions hold may take (store.ViewBudget). */
  public static final Reply TOO_MANY_HELD = new Reply(false, "SYS/TEMP",
      "Too many messages held open by all sessions now; try again later");
  public static final Reply NO_INBOX = new Reply(false, "SYS/TEMP", "Cannot open the mailbox, try again later");
  public static final Reply MESSAGE_GONE = new Reply(false, "SYS/TEMP",
      "Message is no longer available (removed by another client)");
  public static final Reply UNSUPPORTED_MECHANISM = err("Unsupported authentication mechanism");
  public static final Reply AUTH_CANCELLED = err("Authentication cancelled");
  public static final Reply BAD_BASE64 = err("Cannot decode base64");
  public static final Reply ALREADY_AUTHENTICATED = err("Already authenticated");
  public static final Reply APOP_UNSUPPORTED = err("APOP is not supported; use USER/PASS or AUTH PLAIN over TLS");
  public static final Reply UPDATE_FAILED = new Reply(false, "SYS/TEMP",
      "Some deleted messages were not removed, try again later");

  public static Reply ok(String text) {
    return new Reply(true, null, text);
  }

  public static Reply err(String text) {
    return new Reply(false, null, text);
  }

  public Reply withText(String t) {
    return new Reply(ok, code, t);
  }

  /** The status line without CRLF. */
  public String line() {
    StringBuilder sb = new StringBuilder(ok ? "+OK" : "-ERR");
    if (code != null) {
      sb.append(" [").append(code).append(']');
    }
    if (!text.isEmpty()) {
      sb.append(' ').append(text);
    }
    return sb.toString();
  }
}
