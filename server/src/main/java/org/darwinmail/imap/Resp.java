package org.darwinmail.imap;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Builds one response in bytes: atoms, quoted strings, literals (RFC 3501 §4.3), NIL. A string goes out quoted when
 * it can (no CR, LF, NUL; 8-bit only when UTF8=ACCEPT is on), as a literal otherwise.
 */
final class Resp {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);
  private final boolean utf8;

  Resp(boolean utf8) {
    this.utf8 = utf8;
  }

  Resp raw(String s) {
    out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    return this;
  }

  Resp sp() {
    out.write(' ');
    return this;
  }

  Resp num(long n) {
    return raw(Long.toString(n));
  }

  /** nstring: NIL for null. */
  Resp nstring(String s) {
    return s == null ? raw("NIL") : string(s);
  }

  Resp string(String s) {
    boolean quotable = s.length() < 1000;
    for (int i = 0; i < s.length() && quotable; i++) {
      char c = s.charAt(i);
      if (c == '\r' || c == '\n' || c == 0 || c >= 0x80 && !utf8) {
        quotable = false;
      }
    }
    if (!quotable) {
      return literal(s.getBytes(StandardCharsets.UTF_8));
    }
    StringBuilder q = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        q.append('\\');
      }
      q.append(c);
    }
    return raw(q.append('"').toString());
  }

  Resp literal(byte[] b) {
    return literal(b, 0, b.length);
  }

  /** A literal: NUL octets, which it may not hold (RFC 9051 §4.3, CHAR8), go out as 0x80 ({@link #withoutNul}). */
  Resp literal(byte[] b, int off, int len) {
    raw("{" + len + "}\r\n");
    out.writeBytes(withoutNul(b, off, len));
    return this;
  }

  /** A literal8 (RFC 3516 §4.2, RFC 9051 §4.3): the octets as they are, NUL included; for BINARY only. */
  Resp literal8(byte[] b, int off, int len) {
    raw("~{" + len + "}\r\n");
    out.write(b, off, len);
    return this;
  }

  /**
   * {@code len} bytes of {@code b} from {@code off} with each NUL replaced by 0x80, as Dovecot does: a literal may
   * not hold NUL (RFC 9051 §4.3), the count of octets stays the same (RFC822.SIZE, partial offsets), and 0x80 is
   * no character in any charset a client would show. The array itself when it holds no NUL.
   */
  static byte[] withoutNul(byte[] b, int off, int len) {
    byte[] copy = null;
    for (int i = off; i < off + len; i++) {
      if (b[i] == 0) {
        if (copy == null) {
          copy = java.util.Arrays.copyOfRange(b, off, off + len);
        }
        copy[i - off] = (byte) 0x80;
      }
    }
    if (copy != null) {
      return copy;
    }
    return off == 0 && len == b.length ? b : java.util.Arrays.copyOfRange(b, off, off + len);
  }

  int size() {
    return out.size();
  }

  byte[] bytes() {
    return out.toByteArray();
  }
}
