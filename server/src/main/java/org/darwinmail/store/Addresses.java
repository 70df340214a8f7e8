package org.darwinmail.store;

import java.net.IDN;
import java.util.Locale;

/** Normalises mail addresses: local parts and domains compare case-insensitively; domains in A-label form. */
public final class Addresses {
  private Addresses() {}

  /** "User@Example.COM" becomes "user@example.com"; returns null for something that is not local@domain. */
  public static String normalize(String address) {
    if (address == null) {
      return null;
    }
    String a = address.strip();
    int at = a.lastIndexOf('@');
    if (at <= 0 || at == a.length() - 1) {
      return null;
    }
    String domain = domain(a.substring(at + 1));
    if (domain == null) {
      return null;
    }
    return a.substring(0, at).toLowerCase(Locale.ROOT) + "@" + domain;
  }

  /** A domain in lower-case A-label form, or null when it is not a valid name. */
  public static String domain(String domain) {
    if (domain == null || domain.isEmpty() || domain.length() > 253) {
      return null;
    }
    try {
      String d = IDN.toASCII(domain, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
      if (d.endsWith(".")) {
        d = d.substring(0, d.length() - 1);
      }
      return d.isEmpty() ? null : d;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  // ---- validation of new names: the one place the CLI, the admin console and the wizard check them ----------

  /** RFC 5322 §3.2.3 atext, plus any non-ASCII character (RFC 6532 §3.2 utf8-non-ascii, for SMTPUTF8 mail). */
  private static boolean atext(int c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "!#$%&'*+-/=?^_`{|}~".indexOf(c) >= 0
        || c >= 0x80 && !Character.isISOControl(c) && !Character.isWhitespace(c) && !Character.isSpaceChar(c);
  }

  /** RFC 5322 §3.2.3 dot-atom-text (with RFC 6532 non-ASCII): atoms separated by single dots. */
  public static boolean isDotAtom(String s) {
    return !s.isEmpty() && !s.startsWith(".") && !s.endsWith(".") && !s.contains("..")
        && s.codePoints().allMatch(c -> c == '.' || atext(c));
  }

  /** An address as written in a path or header: the local part quoted (RFC 5321 §4.1.2) when not a dot-atom. */
  public static String quoted(String address) {
    int at = address.lastIndexOf('@');
    String local = at < 0 ? address : address.substring(0, at);
    if (local.isEmpty() || isDotAtom(local)) {
      return address;
    }
    return "\"" + local.replace("\\", "\\\\").replace("\"", "\\\"") + "\"" + address.substring(local.length());
  }

  /**
   * A domain name for a new domain, alias or account: a host name (RFC 1035 §2.3.1 as relaxed by RFC 1123 §2.1:
   * letters, digits and inner hyphens; labels of 1-63 octets, 253 characters in all, which is the 255 octets of
   * RFC 1035 §2.3.4 on the wire), with two labels or more (or "localhost"), not an address literal nor an IP
   * address. Non-ASCII names (U-labels, RFC 5890) are stored in their A-label ("xn--") form, converted by
   * java.net.IDN. Returns that form in lower case; throws a {@link RefusedException} saying what is wrong.
   */
  public static String validDomain(String name) {
    String n = name == null ? "" : name.strip();
    if (n.endsWith(".")) {
      n = n.substring(0, n.length() - 1);
    }
    if (n.isEmpty()) {
      throw new RefusedException("not a domain name: empty");
    }
    if (n.startsWith("[")) {
      throw new RefusedException("not a domain name: " + name + " (address literals cannot be mail domains)");
    }
    String d;
    try {
      d = IDN.toASCII(n, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
    } catch (IllegalArgumentException e) {
      throw new RefusedException("not a domain name: " + name
          + " (labels are letters, digits and inner hyphens, 1 to 63 characters, separated by single dots)");
    }
    if (d.length() > 253) {
      throw new RefusedException("not a domain name: " + name + " (longer than 253 characters)");
    }
    String[] labels = d.split("\\.", -1);
    for (String l : labels) {
      if (l.isEmpty() || l.length() > 63 || l.startsWith("-") || l.endsWith("-")) {
        throw new RefusedException("not a domain name: " + name
            + " (labels are letters, digits and inner hyphens, 1 to 63 characters, separated by single dots)");
      }
    }
    if (labels[labels.length - 1].chars().allMatch(Character::isDigit)) {
      throw new RefusedException("not a domain name: " + name + " (an IP address cannot be a mail domain)");
    }
    if (labels.length < 2 && !d.equals("localhost")) {
      throw new RefusedException("not a domain name: " + name + " (a mail domain has at least two labels)");
    }
    return d;
  }

  /**
   * An address for a new account or alias: a dot-atom local part (RFC 5321 §4.1.2 / RFC 5322 §3.2.3: no quoted
   * local parts, no spaces, no empty or double dots) of at most 64 octets (RFC 5321 §4.5.3.1.1), "@", a
   * {@link #validDomain}; 254 octets in all (the 256 of a path, RFC 5321 §4.5.3.1.3, less its angle brackets).
   * Returns it normalized (lower case, A-label domain); throws a {@link RefusedException} saying what is wrong.
   */
  public static String validAddress(String address) {
    String a = address == null ? "" : address.strip();
    int at = a.lastIndexOf('@');
    if (at < 0) {
      throw new RefusedException("not a mail address: " + address + " (no @)");
    }
    String local = a.substring(0, at);
    if (!isDotAtom(local)) {
      throw new RefusedException("not a mail address: " + address
          + " (the part before @ is letters, digits, dots between them and !#$%&'*+-/=?^_`{|}~)");
    }
    if (local.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 64) {
      throw new RefusedException("not a mail address: " + address + " (the part before @ is over 64 octets)");
    }
    String normalized = local.toLowerCase(Locale.ROOT) + "@" + validDomain(a.substring(at + 1));
    if (normalized.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 254) {
      throw new RefusedException("not a mail address: " + address + " (over 254 octets)");
    }
    return normalized;
  }

  public static String domainOf(String normalizedAddress) {
    return normalizedAddress.substring(normalizedAddress.lastIndexOf('@') + 1);
  }

  public static String localPartOf(String normalizedAddress) {
    return normalizedAddress.substring(0, normalizedAddress.lastIndexOf('@'));
  }
}
