package org.darwinmail.mime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class HeaderTextTest {
  @Test
  void commentsNestAndQuotedStringsHideParentheses() {
    assertThat(HeaderText.strip("a (b (c) d) e", false)).isEqualTo("a   e");
    assertThat(HeaderText.strip("\"x (y)\" <a@b> (c\\) d)", false)).isEqualTo("\"x (y)\" <a@b>  ");
    assertThat(HeaderText.strip("\"x (y)\" <a@b> (c)", true)).isEqualTo("\"\" <a@b>  ");
    assertThat(HeaderText.strip("\"a\\\"b\" c", false)).isEqualTo("\"a\\\"b\" c");
    assertThat(HeaderText.strip("a (unclosed", false)).isEqualTo("a  ");
    assertThat(HeaderText.strip("a \"unclosed", true)).isEqualTo("a \"\"");
  }

  @Test
  void floodsAreLinear() {
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      HeaderText.strip("(".repeat(1_000_000), true);
      HeaderText.strip("\"".repeat(1_000_000), true);
      HeaderText.strip("\"(".repeat(500_000), false);
    });
  }
}
