package org.darwinmail.admin.dns;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * One domain's MTA-STS policy (RFC 8461 §3.2): {@code version: STSv1}, the mode, this server's host name as the
 * one {@code mx}, {@code max_age}; CRLF after each line. Its id (RFC 8461 §3.1: 1 to 32 letters and digits) is
 * derived from the text, so it changes whenever the text does and senders fetch the policy again; the same text
 * always has the same id, on every node and after every restart.
 */
public record MtaStsPolicy(String mode, String mx, long maxAge) {
  public MtaStsPolicy {
    mode = mode.toLowerCase(Locale.ROOT);
    mx = mx.toLowerCase(Locale.ROOT);
    if (mx.endsWith(".")) {
      mx = mx.substring(0, mx.length() - 1);
    }
  }

  /** The policy body served at {@code /.well-known/mta-sts.txt}. */
  public String text() {
    return "version: STSv1\r\nmode: " + mode + "\r\nmx: " + mx + "\r\nmax_age: " + maxAge + "\r\n";
  }

  /** 20 hex digits of the text's SHA-256. */
  public String id() {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text().getBytes(StandardCharsets.US_ASCII));
      return HexFormat.of().formatHex(d, 0, 10);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The {@code _mta-sts.<domain>} TXT value (RFC 8461 §3.1). */
  public String record() {
    return "v=STSv1; id=" + id();
  }
}
