package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** RFC 5256 §2.1 base subjects, and no super-linear subject (issue 23). */
class BaseSubjectTest {
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {
      "Re: hello | HELLO", "RE: Re: re: hello | HELLO", "Fwd: hello | HELLO", "fw: hello | HELLO",
      "hello (fwd) | HELLO", "hello (FWD)  (fwd) | HELLO", "[list] Re: hello | HELLO", "Re [list]: hello | HELLO",
      "[list] hello | HELLO", "[list] | [LIST]", "re: [fwd: [fwd: re: [fwd: babylon]]] | BABYLON",
      "[fwd: hello] | HELLO", "[a] [b] re: [c] x | X", "Re:  spaced\tout  | SPACED OUT", "Reply | REPLY",
      "Fwd | FWD", "'' | ''", "=?UTF-8?Q?Re=3A_caf=C3=A9?= | CAFE\u0301",
      "=?UTF-8?B?UmU6IO+8qO+9he+9jO+9jO+9jw==?= | HELLO"}) // i;unicode-casemap (RFC 5051): é decomposed, full-width
  void rfcSteps(String subject, String base) {
    assertThat(BaseSubject.of(subject)).isEqualTo(base);
  }

  /** RFC 5256 §3 REFERENCES step 5: did extraction remove a subj-refwd, "(fwd)" or a subj-fwd-hdr (a reply)? */
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {"Re: hello | true", "[list] Fwd: hello | true", "[fwd: hello] | true",
      "hello (fwd) | true", "[list] hello | false", "hello | false", "Reply | false"})
  void repliesAndForwardsAreTold(String subject, boolean reply) {
    assertThat(BaseSubject.extract(subject).reply()).isEqualTo(reply);
  }

  @Test
  void adversarialSubjectsAreLinear() {
    String[] subjects = {"re:".repeat(100_000) + "x", "[a]".repeat(100_000) + "x", "[fwd:".repeat(50_000),
        "[fwd: ".repeat(30_000) + "x" + "]".repeat(30_000), "x" + "(fwd)".repeat(100_000),
        "re [" + "a".repeat(300_000), "[" + "a".repeat(300_000) + "] " + "re:".repeat(1000)};
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      for (String s : subjects) {
        BaseSubject.of(s);
      }
    });
    assertThat(BaseSubject.of("re:".repeat(100_000) + "x")).isEqualTo("X");
    assertThat(BaseSubject.of("[fwd: ".repeat(30_000) + "x" + "]".repeat(30_000))).isEqualTo("X");
  }
}
