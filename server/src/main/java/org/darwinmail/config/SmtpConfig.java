package org.darwinmail.config;

/**
 * Limits of the SMTP listeners (port 25 and submission).
 *
 * @param maxMessageSize        bytes, advertised in SIZE; larger messages get 552 (RFC 1870)
 * @param maxRecipients         per message; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8)
 * @param maxLineLength         command line length in bytes, CRLF included (RFC 5321 §4.5.3.1.4: at least 512)
 * @param idleTimeoutSeconds    a client silent this long is dropped (RFC 5321 §4.5.3.2.7: at least 5 minutes)
 * @param sessionTimeoutSeconds a whole session longer than this is closed
 * @param maxErrors             bad commands in one session before it is closed with 421
 * @param maxReceivedHeaders    more Received: headers than this is a mail loop (RFC 5321 §6.3)
 */
public record SmtpConfig(
    Long maxMessageSize, Integer maxRecipients, Integer maxLineLength, Integer idleTimeoutSeconds,
    Integer sessionTimeoutSeconds, Integer maxErrors, Integer maxReceivedHeaders) {

  public SmtpConfig {
    maxMessageSize = maxMessageSize == null ? 50L * 1024 * 1024 : maxMessageSize;
    maxRecipients = maxRecipients == null ? 100 : maxRecipients;
    maxLineLength = maxLineLength == null ? 2048 : maxLineLength;
    idleTimeoutSeconds = idleTimeoutSeconds == null ? 300 : idleTimeoutSeconds;
    sessionTimeoutSeconds = sessionTimeoutSeconds == null ? 3600 : sessionTimeoutSeconds;
    maxErrors = maxErrors == null ? 10 : maxErrors;
    maxReceivedHeaders = maxReceivedHeaders == null ? 50 : maxReceivedHeaders;
    Checks.range("smtp.max_message_size", maxMessageSize, 1024, 2L * 1024 * 1024 * 1024);
    Checks.range("smtp.max_recipients", maxRecipients, 1, 100_000);
    Checks.range("smtp.max_line_length", maxLineLength, 512, 1_000_000);
    Checks.range("smtp.idle_timeout_seconds", idleTimeoutSeconds, 1, 86_400);
    Checks.range("smtp.session_timeout_seconds", sessionTimeoutSeconds, 1, 86_400);
    Checks.range("smtp.max_errors", maxErrors, 1, 1000);
    Checks.range("smtp.max_received_headers", maxReceivedHeaders, 5, 1000);
  }

  public static SmtpConfig defaults() {
    return new SmtpConfig(null, null, null, null, null, null, null);
  }
}
