package org.darwinmail.config;

/**
 * IMAP limits.
 *
 * @param maxLineLength       command line length in bytes, literals excluded
 * @param maxLiteralSize      largest literal after login (APPEND); also the APPENDLIMIT
 * @param maxLiteralBeforeAuth largest literal before login (a LOGIN password, say)
 * @param idleTimeoutSeconds  RFC 3501 §5.4: the autologout timer is at least 30 minutes
 * @param plaintextOnLoopback allow LOGIN and AUTHENTICATE PLAIN without TLS from 127.0.0.0/8 and ::1
 *                            (ARCHITECTURE.md, "Listeners and security rules"); elsewhere, and with false,
 *                            LOGINDISABLED is advertised until STARTTLS
 */
public record ImapConfig(Integer maxLineLength, Long maxLiteralSize, Integer maxLiteralBeforeAuth,
    Integer idleTimeoutSeconds, Boolean plaintextOnLoopback) {
  public ImapConfig {
    maxLineLength = maxLineLength == null ? 65_536 : maxLineLength;
    maxLiteralSize = maxLiteralSize == null ? 50L * 1024 * 1024 : maxLiteralSize;
    maxLiteralBeforeAuth = maxLiteralBeforeAuth == null ? 8192 : maxLiteralBeforeAuth;
    idleTimeoutSeconds = idleTimeoutSeconds == null ? 1800 : idleTimeoutSeconds;
    plaintextOnLoopback = plaintextOnLoopback == null ? Boolean.TRUE : plaintextOnLoopback;
    Checks.range("imap.max_line_length", maxLineLength, 1000, 10_000_000);
    Checks.range("imap.max_literal_size", maxLiteralSize, 1024, 2L * 1024 * 1024 * 1024);
    Checks.range("imap.max_literal_before_auth", maxLiteralBeforeAuth, 256, 1_000_000);
    Checks.range("imap.idle_timeout_seconds", idleTimeoutSeconds, 1, 86_400);
  }

  public static ImapConfig defaults() {
    return new ImapConfig(null, null, null, null, null);
  }
}
