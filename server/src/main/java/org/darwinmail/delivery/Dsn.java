package org.darwinmail.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.UUID;

/**
 * Delivery status notifications (RFC 3464) as multipart/report (RFC 6522): a human-readable part, the
 * machine-readable message/delivery-status, and the original header section (text/rfc822-headers).
 */
final class Dsn {
  private static final DateTimeFormatter RFC5322 = DateTimeFormatter.RFC_1123_DATE_TIME;

  enum Action { FAILED, DELAYED }

  /** One recipient's line of the report. */
  record Failure(String recipient, String status, String diagnostic, String remoteMta) {}

  private Dsn() {}

  /**
   * The whole DSN message (CRLF line ends). {@code original} is the queued message; only its header section is
   * quoted.
   */
  static byte[] build(String hostname, String to, Action action, Instant arrival, List<Failure> failures,
      InputStream original, boolean utf8) throws IOException {
    String boundary = "=_dsn_" + UUID.randomUUID();
    String now = RFC5322.format(ZonedDateTime.now());
    StringBuilder sb = new StringBuilder();
    sb.append("From: Mail Delivery System <MAILER-DAEMON@").append(hostname).append(">\r\n");
    sb.append("To: <").append(to).append(">\r\n");
    sb.append("Subject: ").append(action == Action.FAILED ? "Undelivered Mail Returned to Sender"
        : "Delayed Mail (still being retried)").append("\r\n");
    sb.append("Date: ").append(now).append("\r\n");
    sb.append("Message-ID: <").append(UUID.randomUUID()).append("@").append(hostname).append(">\r\n");
    sb.append("Auto-Submitted: auto-replied\r\n"); // RFC 3834 §5
    sb.append("MIME-Version: 1.0\r\n");
    sb.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"").append(boundary)
        .append("\"\r\n\r\n");
    sb.append("This is a delivery status notification (RFC 3464).\r\n\r\n");
    sb.append("--").append(boundary).append("\r\n");
    sb.append("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    if (action == Action.FAILED) {
      sb.append("This is the mail system at ").append(hostname).append(".\r\n\r\n");
      sb.append("Your message could not be delivered to one or more recipients.\r\n");
      sb.append("It will not be retried.\r\n\r\n");
    } else {
      sb.append("This is the mail system at ").append(hostname).append(".\r\n\r\n");
      sb.append("Your message has not been delivered yet to one or more recipients.\r\n");
      sb.append("It is still being retried; you do not need to send it again.\r\n\r\n");
    }
    for (Failure f : failures) {
      sb.append("<").append(f.recipient()).append(">: ").append(f.diagnostic()).append("\r\n");
    }
    sb.append("\r\n--").append(boundary).append("\r\n");
    // RFC 3464 §2.1: per-message fields, then one block per recipient.
    sb.append("Content-Type: message/").append(utf8 ? "global-delivery-status" : "delivery-status")
        .append("\r\n\r\n");
    sb.append("Reporting-MTA: dns; ").append(hostname).append("\r\n");
    sb.append("Arrival-Date: ").append(RFC5322.format(arrival.atZone(ZoneId.systemDefault()))).append("\r\n");
    for (Failure f : failures) {
      sb.append("\r\n");
      sb.append("Final-Recipient: rfc822; ").append(f.recipient()).append("\r\n");
      sb.append("Action: ").append(action == Action.FAILED ? "failed" : "delayed").append("\r\n");
      sb.append("Status: ").append(f.status()).append("\r\n");
      if (f.remoteMta() != null) {
        sb.append("Remote-MTA: dns; ").append(f.remoteMta()).append("\r\n");
      }
      sb.append("Diagnostic-Code: ").append(f.diagnostic().matches("^[2-5]\\d\\d .*") ? "smtp; " : "x-darwin; ")
          .append(oneLine(f.diagnostic())).append("\r\n");
      sb.append("Last-Attempt-Date: ").append(now).append("\r\n");
    }
    sb.append("\r\n--").append(boundary).append("\r\n");
    sb.append("Content-Type: ").append(utf8 ? "message/global-headers" : "text/rfc822-headers").append("\r\n\r\n");
    byte[] head = originalHeader(original);
    byte[] start = sb.toString().getBytes(StandardCharsets.UTF_8);
    byte[] end = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[start.length + head.length + end.length];
    System.arraycopy(start, 0, all, 0, start.length);
    System.arraycopy(head, 0, all, start.length, head.length);
    System.arraycopy(end, 0, all, start.length + head.length, end.length);
    return all;
  }

  private static String oneLine(String s) {
    String t = s.replaceAll("[\\r\\n]+", " ");
    return t.length() > 900 ? t.substring(0, 900) : t;
  }

  /** The header section of the original message, at most 64 KiB, ending with CRLF. */
  private static byte[] originalHeader(InputStream in) throws IOException {
    if (in == null) {
      return new byte[0];
    }
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    int prev = -1;
    int prev2 = -1;
    while (b.size() < 64 * 1024) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      if (c == '\n' && (prev == '\n' || (prev == '\r' && prev2 == '\n'))) {
        break;
      }
      b.write(c);
      prev2 = prev;
      prev = c;
    }
    byte[] h = b.toByteArray();
    // drop the CR of the blank line when present
    int len = h.length;
    if (len > 0 && h[len - 1] == '\r') {
      len--;
    }
    return java.util.Arrays.copyOf(h, len);
  }
}
