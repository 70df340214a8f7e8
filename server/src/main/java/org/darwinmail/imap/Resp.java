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
    raw("{" + b.length + "}\r\n");
    out.writeBytes(b);
    return this;
  }

  Resp literal(byte[] b, int off, int len) {
    raw("{" + len + "}\r\n");
    out.write(b, off, len);
    return this;
  }

  int size() {
    return out.size();
  }

  byte[] bytes() {
    return out.toByteArray();
  }
}
