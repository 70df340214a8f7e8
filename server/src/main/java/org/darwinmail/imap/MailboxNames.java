package org.darwinmail.imap;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Mailbox names on the wire: modified UTF-7 (RFC 3501 §5.1.3) unless UTF8=ACCEPT is enabled (RFC 6855 §3), in which
 * case they are UTF-8. The store always holds UTF-8 with "/" as the hierarchy delimiter.
 */
public final class MailboxNames {
  private static final Base64.Encoder ENC = Base64.getEncoder().withoutPadding();
  private static final Base64.Decoder DEC = Base64.getDecoder();

  private MailboxNames() {}

  /** The longest mailbox name CREATE and RENAME accept (characters). */
  static final int MAX_NAME_LENGTH = 500;

  /** A name CREATE and RENAME accept: not empty, not too long, no empty level, no control or wildcard character. */
  static void validName(String name) {
    if (name.isEmpty() || name.length() > MAX_NAME_LENGTH || name.startsWith("/") || name.contains("//")
        || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '*' || c == '%')) {
      throw ImapException.no("CANNOT", "Invalid mailbox name");
    }
  }

  /** The store name of a wire name. A wire name with raw 8-bit text is taken as UTF-8 (RFC 9051 §5.1). */
  public static String fromWire(String wire, boolean utf8) {
    if (utf8 || wire.indexOf('&') < 0 || !wire.chars().allMatch(c -> c < 0x80)) {
      return wire;
    }
    return decodeUtf7(wire);
  }

  public static String toWire(String name, boolean utf8) {
    return utf8 ? name : encodeUtf7(name);
  }

  /** RFC 3501 §5.1.3: "&" shifts to modified BASE64 of UTF-16 ("," for "/"), "-" shifts back; "&-" is "&". */
  public static String encodeUtf7(String s) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c >= 0x20 && c <= 0x7e) {
        out.append(c == '&' ? "&-" : String.valueOf(c));
        i++;
        continue;
      }
      int j = i;
      while (j < s.length() && (s.charAt(j) < 0x20 || s.charAt(j) > 0x7e)) {
        j++;
      }
      byte[] utf16 = s.substring(i, j).getBytes(StandardCharsets.UTF_16BE);
      out.append('&').append(ENC.encodeToString(utf16).replace('/', ',')).append('-');
      i = j;
    }
    return out.toString();
  }

  /**
   * A name that is a valid atom or string but not valid modified UTF-7 names no mailbox that can exist: NO, not BAD
   * (the command's syntax is right; RFC 3501 §5.1.3 only says how names are encoded).
   */
  private static ImapException invalid() {
    return ImapException.no("CANNOT", "Mailbox name is not valid modified UTF-7");
  }

  public static String decodeUtf7(String s) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c != '&') {
        out.append(c);
        i++;
        continue;
      }
      int end = s.indexOf('-', i);
      if (end < 0) {
        throw invalid();
      }
      if (end == i + 1) {
        out.append('&');
      } else {
        try {
          byte[] b = DEC.decode(s.substring(i + 1, end).replace(',', '/'));
          if (b.length % 2 != 0) {
            throw invalid();
          }
          String d = new String(b, StandardCharsets.UTF_16BE);
          if (d.chars().anyMatch(ch -> ch >= 0x20 && ch <= 0x7e)) {
            throw invalid(); // printable US-ASCII is never shifted (RFC 3501 §5.1.3)
          }
          out.append(d);
        } catch (IllegalArgumentException e) {
          throw invalid();
        }
      }
      i = end + 1;
    }
    return out.toString();
  }
}
