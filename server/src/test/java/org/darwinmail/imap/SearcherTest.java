package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The substring search behind SEARCH TEXT / BODY / header keys, and Date: parsing (issue 23: linear in both). */
class SearcherTest {
  @Test
  void longNeedlesAgreeWithStringContains() {
    Random r = new Random(5);
    for (int i = 0; i < 5_000; i++) {
      String text = random(r, 300);
      int from = r.nextInt(text.length() - 100);
      String needle = r.nextBoolean() ? text.substring(from, from + 65 + r.nextInt(30)) : random(r, 70 + r.nextInt(20));
      assertThat(Searcher.contains(text, needle)).isEqualTo(text.contains(needle));
    }
  }

  @Test
  void aNeedleThatAlmostMatchesEverywhereIsLinear() {
    String text = "a".repeat(2_000_000);
    String needle = "a".repeat(30_000) + "b";
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      for (int i = 0; i < 5; i++) {
        assertThat(Searcher.contains(text, needle)).isFalse();
      }
    });
  }

  @Test
  void datesWithCommentsAndFloodsOfParentheses() {
    assertThat(Searcher.parseDate("Tue, 1 Jul 2003 (a (nested) comment) 10:52:37 +0200").toString())
        .isEqualTo("2003-07-01T10:52:37+02:00");
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      assertThat(Searcher.parseDate("(".repeat(500_000))).isNull();
    });
  }

  private static String random(Random r, int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.append("ab".charAt(r.nextInt(2)));
    }
    return b.toString();
  }
}
