package org.darwinmail.config;

/**
 * POP3 limits and policy.
 *
 * @param idleTimeoutSeconds  RFC 1939 §3: the inactivity autologout timer is at least 10 minutes
 * @param maxLineLength       command line length (RFC 2449 §4: 255 octets; some slack)
 * @param maxErrors           bad commands before the session is closed
 * @param plaintextOnLoopback allow USER/PASS and AUTH PLAIN without TLS from 127.0.0.0/8 and ::1 (ARCHITECTURE.md,
 *                            "Listeners and security rules"); elsewhere a client must use STLS (or port 995) first
 */
public record Pop3Config(Integer idleTimeoutSeconds, Integer maxLineLength, Integer maxErrors,
    Boolean plaintextOnLoopback) {
  public Pop3Config {
    idleTimeoutSeconds = idleTimeoutSeconds == null ? 600 : idleTimeoutSeconds;
    maxLineLength = maxLineLength == null ? 1024 : maxLineLength;
    maxErrors = maxErrors == null ? 10 : maxErrors;
    plaintextOnLoopback = plaintextOnLoopback == null ? Boolean.TRUE : plaintextOnLoopback;
    Checks.range("pop3.idle_timeout_seconds", idleTimeoutSeconds, 1, 86_400);
    Checks.range("pop3.max_line_length", maxLineLength, 255, 65_536);
    Checks.range("pop3.max_errors", maxErrors, 1, 1000);
  }

  public static Pop3Config defaults() {
    return new Pop3Config(null, null, null, null);
  }
}
