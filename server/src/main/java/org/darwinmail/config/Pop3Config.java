package org.darwinmail.config;

/**
 * POP3 limits.
 *
 * @param idleTimeoutSeconds RFC 1939 §3: the inactivity autologout timer is at least 10 minutes
 * @param maxLineLength      command line length (RFC 2449 §4: 255 octets; some slack)
 */
public record Pop3Config(Integer idleTimeoutSeconds, Integer maxLineLength) {
  public Pop3Config {
    idleTimeoutSeconds = idleTimeoutSeconds == null ? 600 : idleTimeoutSeconds;
    maxLineLength = maxLineLength == null ? 1024 : maxLineLength;
    Checks.range("pop3.idle_timeout_seconds", idleTimeoutSeconds, 1, 86_400);
    Checks.range("pop3.max_line_length", maxLineLength, 255, 65_536);
  }

  public static Pop3Config defaults() {
    return new Pop3Config(null, null);
  }
}
