package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** i;unicode-casemap (RFC 5051 §2) as SORT and THREAD use it, from the RFC's description of the steps. */
class CasemapTest {
  @Test
  void caseAndCompatibilityFormsAreOneKey() {
    assertThat(Casemap.key("hello")).isEqualTo("HELLO");
    assertThat(Casemap.key("Ｈｅｌｌｏ")).isEqualTo("HELLO"); // full-width: a compatibility decomposition
    assertThat(Casemap.key("ﬁle")).isEqualTo("FILE"); // the ligature decomposes to "fi"
    assertThat(Casemap.key("é")).isEqualTo(Casemap.key("É")).isEqualTo("E\u0301");
    assertThat(Casemap.key("e\u0301")).isEqualTo(Casemap.key("é")); // composed or not: the same
    // U+01C6 "ǆ": titlecase U+01C5 "ǅ", which decomposes to "D" "ž"; "ž" titlecases and decomposes again
    assertThat(Casemap.key("\u01C6")).isEqualTo("DZ\u030C").isEqualTo(Casemap.key("\u01C4"));
    assertThat(Casemap.key("ß")).isEqualTo("ß"); // no simple titlecase mapping, no decomposition
    assertThat(Casemap.key("한")).isEqualTo("한"); // Hangul syllables: UnicodeData.txt lists no decomposition
    assertThat(Casemap.key("")).isEmpty();
    assertThat(Casemap.key(null)).isEmpty();
  }

  @Test
  void orderIsCodePointOrderOfTheKeys() {
    List<String> words = new ArrayList<>(List.of("Zebra", "éclair", "apple", "Eve", "Éclat", "eclipse", "\uD83D\uDE00",
        "\uFF5E"));
    words.sort((a, b) -> Casemap.compare(Casemap.key(a), Casemap.key(b)));
    // accented E words after the plain ones (U+0301 is above every letter), all before Z; an emoji (U+1F600) after
    // U+FF5E, as in UTF-8 byte order (UTF-16 order would put the surrogates first)
    assertThat(words).containsExactly("apple", "eclipse", "Eve", "éclair", "Éclat", "Zebra", "\uFF5E", "\uD83D\uDE00");
    assertThat(Casemap.compare("AB", "A")).isPositive();
    assertThat(Casemap.compare("A", "AB")).isNegative();
    assertThat(Casemap.compare("", "")).isZero();
  }
}
