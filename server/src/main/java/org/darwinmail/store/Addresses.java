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

  public static String domainOf(String normalizedAddress) {
    return normalizedAddress.substring(normalizedAddress.lastIndexOf('@') + 1);
  }

  public static String localPartOf(String normalizedAddress) {
    return normalizedAddress.substring(0, normalizedAddress.lastIndexOf('@'));
  }
}
