package org.darwinmail.imap;

import java.text.Normalizer;

/**
 * The i;unicode-casemap collation (RFC 5051), which SORT and THREAD compare strings with (base subjects, addresses,
 * display names): each string is made "titlecased canonicalized" (§2: each character replaced by its titlecase
 * mapping, then by its decomposition, the two repeated until nothing changes), and the results are compared as
 * i;octet compares their UTF-8, which is code point order. "é" and "É" compare equal and sort among the E words
 * (after "e", before "f"), full-width "Ｈｅｌｌｏ" equals "hello", "ǆ" equals "DŽ" (titlecase "ǅ", then decomposed).
 */
final class Casemap {
  private Casemap() {}

  /** The titlecased canonicalized form of {@code s} (RFC 5051 §2 steps 1-3), linear in its length. */
  static String key(String s) {
    if (s == null || s.isEmpty()) {
      return "";
    }
    StringBuilder out = new StringBuilder(s.length());
    s.codePoints().forEach(cp -> map(cp, out, 0));
    return out.toString();
  }

  /**
   * (2) the titlecase property (UnicodeData.txt field 14, Java's simple titlecase mapping), (3) the decomposition
   * (field 5, canonical and compatibility mappings both, as the RFC takes the field whole), then (2) and (3) again on
   * what the decomposition gave. Hangul syllables are kept: UnicodeData.txt lists no decomposition for them (their
   * decomposition is algorithmic), and RFC 5051 reads only that file. A decomposition is at most a few levels deep;
   * the depth bound only guards the recursion.
   */
  private static void map(int cp, StringBuilder out, int depth) {
    int t = Character.toTitleCase(cp);
    if (t < 0x80 || depth > 8 || t >= 0xAC00 && t <= 0xD7A3) {
      out.appendCodePoint(t);
      return;
    }
    String one = Character.toString(t);
    String d = Normalizer.normalize(one, Normalizer.Form.NFKD);
    if (d.equals(one)) {
      out.appendCodePoint(t);
      return;
    }
    d.codePoints().forEach(c -> map(c, out, depth + 1));
  }

  /** i;octet order of the UTF-8 of two keys: code point order (Java's String order is UTF-16's, which differs). */
  static int compare(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int x = a.codePointAt(i);
      int y = b.codePointAt(j);
      if (x != y) {
        return Integer.compare(x, y);
      }
      i += Character.charCount(x);
      j += Character.charCount(y);
    }
    return Boolean.compare(i < a.length(), j < b.length());
  }
}
