package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** LIST patterns (RFC 3501 §6.3.8): the examples, agreement with a slow reference, and no super-linear input. */
class ListPatternTest {
  @ParameterizedTest(name = "{0} ~ {1} = {2}")
  @CsvSource({
      "*, INBOX, true", "*, a/b/c, true", "%, a, true", "%, a/b, false", "%/%, a/b, true", "a/%, a/b/c, false",
      "a/*, a/b/c, true", "a*c, abc, true", "a*c, ab, false", "a%c, a/c, false", "a*c, a/c, true",
      "'', '', true", "'', a, false", "inbox, INBOX, true", "Inbox, INBOX, true", "inbox/%, INBOX/x, true",
      "inbox, Inbox, false", "sent, Sent, false", "Sent, Sent, true", "*%*%, x/y, true", "%%%%, x/y, false",
      "*b, aaab, true", "*b, aaba, false", "a.c, abc, false", "a?c, abc, false", "[a], [a], true"})
  void examples(String pattern, String name, boolean match) {
    assertThat(new ListPattern(pattern).matches(name)).isEqualTo(match);
  }

  /** Random patterns over a small alphabet against the obvious (exponential) recursive matcher. */
  @Test
  void agreesWithTheDefinitionOnRandomInput() {
    Random r = new Random(23);
    String alphabet = "ab/*%";
    for (int i = 0; i < 20_000; i++) {
      String p = random(r, alphabet, r.nextInt(12));
      String n = random(r, "ab/", r.nextInt(10));
      assertThat(new ListPattern(p).matches(n)).as("%s ~ %s", p, n).isEqualTo(reference(p, 0, n, 0));
    }
  }

  /** Patterns longer than 64 characters cross the bitset's word boundaries. */
  @Test
  void longPatternsCrossWordBoundaries() {
    String name = "x".repeat(200) + "/end";
    assertThat(new ListPattern("x".repeat(200) + "/%").matches(name)).isTrue();
    assertThat(new ListPattern("x%".repeat(100) + "/end").matches(name)).isTrue();
    assertThat(new ListPattern("x%".repeat(100) + "/e").matches(name)).isFalse();
    assertThat(new ListPattern("*x".repeat(130) + "*").matches(name)).isTrue();
    assertThat(new ListPattern("*x".repeat(201) + "*").matches(name)).isFalse();
  }

  /** Issue 23: "*%*%...*%a" backtracked for minutes as a regex; here each takes well under the bound. */
  @Test
  void wildcardFloodsAreLinear() {
    List<String> patterns = List.of("*%".repeat(200) + "a", "*%".repeat(5_000) + "a", "%".repeat(10_000) + "x",
        "*a".repeat(5_000), "a*".repeat(250) + "b", "\u00e9".repeat(60_000));
    String[] names = {"a".repeat(499), "a/".repeat(249), "INBOX", "Sent/Archive/2026"};
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      for (String p : patterns) {
        ListPattern lp = new ListPattern(p);
        for (String n : names) {
          lp.matches(n);
        }
      }
    });
  }

  private static String random(Random r, String alphabet, int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  static boolean reference(String p, int i, String n, int j) {
    if (i == p.length()) {
      return j == n.length();
    }
    char c = p.charAt(i);
    if (c == '*' || c == '%') {
      for (int k = j; k <= n.length(); k++) {
        if (reference(p, i + 1, n, k)) {
          return true;
        }
        if (k < n.length() && c == '%' && n.charAt(k) == '/') {
          return false;
        }
      }
      return false;
    }
    return j < n.length() && n.charAt(j) == c && reference(p, i + 1, n, j + 1);
  }
}
