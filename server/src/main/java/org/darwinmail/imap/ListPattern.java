package org.darwinmail.imap;

import java.util.HashMap;
import java.util.Map;

/**
 * A LIST / LSUB mailbox pattern (RFC 3501 §6.3.8, RFC 9051 §6.3.9): {@code *} matches any characters, {@code %}
 * any characters but the hierarchy delimiter {@code /}, everything else itself.
 *
 * <p>The pattern is user input, so matching must stay linear whatever it holds (issue 23: a regex built from
 * {@code *%*%...} backtracked for minutes and held a core). It runs as a bit-parallel NFA: bit {@code i} of the
 * state set means "the first {@code i} pattern characters match the name read so far"; each name character costs
 * a few word operations per 64 pattern characters, so a match is O(name length × pattern length / 64) with no
 * backtracking. Runs of wildcards are folded first ({@code %%} = {@code %}, any run holding a {@code *} =
 * {@code *}), so two wildcards are never adjacent and one shift closes the set under "a wildcard matches nothing".
 *
 * <p>INBOX is case-insensitive (RFC 3501 §5.1): the first five characters of {@code INBOX} and of
 * {@code INBOX/...} match the pattern's letters in either case.
 */
final class ListPattern {
  private static final char DELIMITER = '/';

  private final boolean never; // more literal characters than any mailbox name holds
  private final int length; // of the folded pattern; bit `length` set = the whole pattern matched
  private final int words;
  private final long[] star;
  private final long[] percent;
  private final long[] wildcard;
  private final Map<Character, long[]> literal = new HashMap<>();

  ListPattern(String pattern) {
    StringBuilder folded = new StringBuilder(pattern.length());
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      int last = folded.length() - 1;
      if ((c == '*' || c == '%') && last >= 0 && (folded.charAt(last) == '*' || folded.charAt(last) == '%')) {
        if (c == '*') {
          folded.setCharAt(last, '*');
        }
        continue;
      }
      folded.append(c);
    }
    // Each literal consumes one name character: a pattern with more of them than the longest name matches nothing,
    // and is not compiled (its masks would take length² / 8 bytes).
    long literals = folded.chars().filter(c -> c != '*' && c != '%').count();
    never = literals > MailboxNames.MAX_NAME_LENGTH;
    length = never ? 0 : folded.length();
    words = length / 64 + 1;
    star = new long[words];
    percent = new long[words];
    wildcard = new long[words];
    for (int i = 0; i < length; i++) {
      char c = folded.charAt(i);
      switch (c) {
        case '*' -> set(star, i);
        case '%' -> set(percent, i);
        default -> set(literal.computeIfAbsent(c, k -> new long[words]), i);
      }
    }
    for (int w = 0; w < words; w++) {
      wildcard[w] = star[w] | percent[w];
    }
  }

  boolean matches(String name) {
    if (never) {
      return false;
    }
    boolean inbox = name.regionMatches(0, "INBOX", 0, 5) && (name.length() == 5 || name.charAt(5) == DELIMITER);
    long[] state = new long[words];
    long[] next = new long[words];
    state[0] = 1;
    close(state);
    for (int k = 0; k < name.length(); k++) {
      char c = name.charAt(k);
      long[] lit = literal.get(c);
      long[] other = inbox && k < 5 ? literal.get(Character.toLowerCase(c)) : null;
      boolean any = false;
      long carry = 0;
      for (int w = 0; w < words; w++) {
        long s = state[w];
        long advance = s & ((lit == null ? 0 : lit[w]) | (other == null ? 0 : other[w]));
        long stay = s & (c == DELIMITER ? star[w] : wildcard[w]);
        next[w] = (advance << 1) | carry | stay;
        carry = advance >>> 63;
        any |= next[w] != 0;
      }
      if (!any) {
        return false;
      }
      close(next);
      long[] t = state;
      state = next;
      next = t;
    }
    return (state[length >>> 6] & (1L << (length & 63))) != 0;
  }

  /** A wildcard also matches nothing: state i at a wildcard implies state i + 1 (never chained: folded). */
  private void close(long[] s) {
    long carry = 0;
    for (int w = 0; w < words; w++) {
      long skip = s[w] & wildcard[w];
      s[w] |= (skip << 1) | carry;
      carry = skip >>> 63;
    }
  }

  private static void set(long[] bits, int i) {
    bits[i >>> 6] |= 1L << (i & 63);
  }
}
