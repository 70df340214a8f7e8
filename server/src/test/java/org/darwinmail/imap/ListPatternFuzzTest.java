package org.darwinmail.imap;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzzing (Jazzer) of LIST patterns (issue 23): the linear matcher agrees with a table-filling reference on every
 * input, and no pattern takes more than a bounded time against a set of names. Regression mode in
 * {@code make check}; {@code make fuzz} for long runs.
 */
class ListPatternFuzzTest {
  /** Far above what the matcher needs for these sizes, far below what a backtracking matcher takes. */
  private static final long BOUND_NANOS = 2_000_000_000L;

  @FuzzTest(maxDuration = "60s")
  void pattern(FuzzedDataProvider data) {
    String name = data.consumeString(MailboxNames.MAX_NAME_LENGTH);
    String pattern = data.consumeRemainingAsString();
    long start = System.nanoTime();
    ListPattern lp = new ListPattern(pattern);
    boolean got = lp.matches(name);
    for (String other : new String[] {"INBOX", "a/b/c", name + "/" + name}) {
      lp.matches(other);
    }
    long took = System.nanoTime() - start;
    if (took > BOUND_NANOS) {
      throw new AssertionError("pattern of " + pattern.length() + " characters took " + took / 1_000_000 + " ms");
    }
    if (pattern.length() <= 2_000 && got != reference(pattern, name)) {
      throw new AssertionError("\"" + pattern + "\" ~ \"" + name + "\": got " + got);
    }
  }

  /** m[i][j]: pattern[0..i) matches name[0..j); O(|pattern| x |name|). INBOX's case as in RFC 3501 §5.1. */
  static boolean reference(String p, String n) {
    boolean inbox = n.regionMatches(0, "INBOX", 0, 5) && (n.length() == 5 || n.charAt(5) == '/');
    boolean[][] m = new boolean[p.length() + 1][n.length() + 1];
    m[0][0] = true;
    for (int i = 1; i <= p.length(); i++) {
      char c = p.charAt(i - 1);
      for (int j = 0; j <= n.length(); j++) {
        if (c == '*' || c == '%') {
          m[i][j] = m[i - 1][j] || j > 0 && m[i][j - 1] && (c == '*' || n.charAt(j - 1) != '/');
        } else if (j > 0) {
          char d = n.charAt(j - 1);
          boolean same = c == d || inbox && j <= 5 && Character.toLowerCase(d) == c;
          m[i][j] = same && m[i - 1][j - 1];
        }
      }
    }
    return m[p.length()][n.length()];
  }
}
