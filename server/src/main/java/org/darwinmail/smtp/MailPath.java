package org.darwinmail.smtp;

/**
 * A forward- or reverse-path mailbox (RFC 5321 §4.1.2; RFC 6531 §3.3 for UTF-8). Source routes
 * ("@a,@b:user@c") are accepted and ignored, as §4.1.1.3 and Appendix C allow.
 *
 * @param localPart as written, quotes removed
 * @param domain    as written (a domain or an address literal in brackets); null for "postmaster"
 */
public record MailPath(String localPart, String domain) {

  public static final int MAX_LOCAL_PART = 64;
  public static final int MAX_DOMAIN = 255;
  private static final String ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";

  /** The null reverse-path "<>"; its address is "". */
  public static final MailPath NULL = new MailPath("", null);

  public String address() {
    if (this == NULL || localPart.isEmpty() && domain == null) {
      return "";
    }
    return domain == null ? localPart : localPart + "@" + domain;
  }

  public boolean isNull() {
    return address().isEmpty();
  }

  public boolean isAscii() {
    return address().chars().allMatch(ch -> ch < 128);
  }

  /**
   * Parses "&lt;...&gt;" at the start of {@code s}; returns the path and the index after '&gt;'.
   *
   * @param allowNull  reverse-path: "&lt;&gt;" allowed
   */
  static Parsed parse(String s, boolean allowNull) {
    if (s.isEmpty() || s.charAt(0) != '<') {
      throw syntax("Path must be in angle brackets");
    }
    int close = findClose(s);
    if (close < 0) {
      throw syntax("Missing '>'");
    }
    String inner = s.substring(1, close);
    if (inner.isEmpty()) {
      if (!allowNull) {
        throw syntax("Empty path not allowed here");
      }
      return new Parsed(NULL, close + 1);
    }
    if (inner.startsWith("@")) {
      int colon = inner.indexOf(':');
      if (colon < 0) {
        throw syntax("Bad source route");
      }
      inner = inner.substring(colon + 1);
    }
    int at = lastUnquotedAt(inner);
    if (at < 0) {
      if (inner.equalsIgnoreCase("postmaster")) {
        return new Parsed(new MailPath("postmaster", null), close + 1);
      }
      throw syntax("Address needs a domain");
    }
    String local = inner.substring(0, at);
    String domain = inner.substring(at + 1);
    String localValue = localPart(local);
    checkDomain(domain);
    return new Parsed(new MailPath(localValue, domain), close + 1);
  }

  record Parsed(MailPath path, int end) {}

  private static int findClose(String s) {
    boolean quoted = false;
    for (int i = 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (quoted && c == '\\') {
        i++;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == '>' && !quoted) {
        return i;
      }
    }
    return -1;
  }

  private static int lastUnquotedAt(String s) {
    boolean quoted = false;
    int at = -1;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (quoted && c == '\\') {
        i++;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == '@' && !quoted) {
        at = i;
      }
    }
    return at;
  }

  /** Dot-string or quoted-string (RFC 5321 §4.1.2); returns the value with quotes and escapes removed. */
  private static String localPart(String s) {
    if (s.isEmpty()) {
      throw syntax("Empty local part");
    }
    String value;
    if (s.charAt(0) == '"') {
      if (s.length() < 2 || s.charAt(s.length() - 1) != '"') {
        throw syntax("Bad quoted local part");
      }
      StringBuilder sb = new StringBuilder();
      for (int i = 1; i < s.length() - 1; i++) {
        char c = s.charAt(i);
        if (c == '\\') {
          if (++i >= s.length() - 1) {
            throw syntax("Bad quoted local part");
          }
          c = s.charAt(i);
          if (c < 32 || c > 126) {
            throw syntax("Bad quoted local part");
          }
        } else if (c < 32 || c == 127 || c == '"') {
          throw syntax("Bad quoted local part");
        }
        sb.append(c);
      }
      value = sb.toString();
    } else {
      if (s.startsWith(".") || s.endsWith(".") || s.contains("..")) {
        throw syntax("Bad dots in local part");
      }
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        boolean ok = c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
            || ATEXT_SPECIALS.indexOf(c) >= 0 || c >= 0x80;
        if (!ok) {
          throw syntax("Bad character in local part");
        }
      }
      value = s;
    }
    if (value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_LOCAL_PART) {
      throw new SmtpException(Reply.LOCAL_PART_TOO_LONG);
    }
    return value;
  }

  private static void checkDomain(String d) {
    if (d.isEmpty() || d.length() > MAX_DOMAIN) {
      throw syntax("Bad domain");
    }
    if (d.startsWith("[")) {
      if (!d.endsWith("]") || d.length() < 4) {
        throw syntax("Bad address literal");
      }
      return;
    }
    for (String label : d.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
        throw syntax("Bad domain");
      }
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c >= 0x80;
        if (!ok) {
          throw syntax("Bad character in domain");
        }
      }
    }
  }

  private static SmtpException syntax(String why) {
    return new SmtpException(Reply.badAddress(why));
  }
}
