package org.darwinmail.guard;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The Public Suffix List (publicsuffix.org; shipped as the resource {@code guard/public_suffix_list.dat}, taken
 * from Debian's publicsuffix package) and the organisational domain of RFC 7489 §3.2 computed from it.
 */
public final class PublicSuffixList {
  private static final PublicSuffixList DEFAULT = load();

  private final Set<String> rules = new HashSet<>();
  private final Set<String> wildcards = new HashSet<>();
  private final Set<String> exceptions = new HashSet<>();

  private PublicSuffixList() {}

  public static PublicSuffixList get() {
    return DEFAULT;
  }

  private static PublicSuffixList load() {
    PublicSuffixList l = new PublicSuffixList();
    try (InputStream in = PublicSuffixList.class.getResourceAsStream("/guard/public_suffix_list.dat")) {
      if (in == null) {
        throw new IllegalStateException("missing resource guard/public_suffix_list.dat");
      }
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      String line;
      while ((line = r.readLine()) != null) {
        String t = line.strip();
        int sp = t.indexOf(' ');
        if (sp > 0) {
          t = t.substring(0, sp);
        }
        if (t.isEmpty() || t.startsWith("//")) {
          continue;
        }
        boolean exception = t.startsWith("!");
        boolean wildcard = t.startsWith("*.");
        String name = exception ? t.substring(1) : wildcard ? t.substring(2) : t;
        try {
          name = java.net.IDN.toASCII(name, java.net.IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
          continue; // a name Java's IDNA 2003 cannot convert: not one a mail domain can have either
        }
        (exception ? l.exceptions : wildcard ? l.wildcards : l.rules).add(name);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return l;
  }

  /**
   * The public suffix of {@code domain} (lower-case A-labels), by the PSL algorithm: the longest matching rule,
   * exceptions first; "*" (the unlisted TLD) when nothing matches.
   */
  public String publicSuffix(String domain) {
    String d = domain.toLowerCase(Locale.ROOT);
    if (d.endsWith(".")) {
      d = d.substring(0, d.length() - 1);
    }
    String[] labels = d.split("\\.", -1);
    for (int i = 0; i < labels.length; i++) {
      String candidate = String.join(".", java.util.Arrays.copyOfRange(labels, i, labels.length));
      if (exceptions.contains(candidate)) {
        // "!www.ck": the suffix is the exception minus its first label.
        return String.join(".", java.util.Arrays.copyOfRange(labels, i + 1, labels.length));
      }
      if (rules.contains(candidate)) {
        return candidate;
      }
      if (i + 1 < labels.length) {
        String parent = String.join(".", java.util.Arrays.copyOfRange(labels, i + 1, labels.length));
        if (wildcards.contains(parent)) {
          return candidate;
        }
      }
    }
    return labels[labels.length - 1];
  }

  /** RFC 7489 §3.2: the public suffix plus one label; the domain itself when it is a public suffix. */
  public String organisationalDomain(String domain) {
    String d = domain.toLowerCase(Locale.ROOT);
    if (d.endsWith(".")) {
      d = d.substring(0, d.length() - 1);
    }
    String suffix = publicSuffix(d);
    if (d.equals(suffix) || !d.endsWith("." + suffix)) {
      return d;
    }
    String rest = d.substring(0, d.length() - suffix.length() - 1);
    int dot = rest.lastIndexOf('.');
    return (dot < 0 ? rest : rest.substring(dot + 1)) + "." + suffix;
  }
}
