package org.darwinmail.net;

/**
 * What a protocol says to a connection before its session can run ({@link DeferredSession}): its greeting, the
 * same line its session sends when it starts at once (one function per protocol serves both), and its answer when
 * the server cannot start after all.
 */
public interface Greeting {
  /** The greeting line (without CRLF) for the connection of {@code session} (IMAP's CAPABILITY depends on it). */
  String line(Session session);

  /** The "closing, try again later" line (SMTP 421 4.3.2, IMAP * BYE, POP3 -ERR): the store did not open. */
  String unavailable();
}
