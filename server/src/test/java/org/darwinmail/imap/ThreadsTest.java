package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 5256 §3 threading on header values alone (no I/O), and its bounds on hostile headers. */
class ThreadsTest {
  private static Threads.Message msg(long n, String subject, String id, String refs, String inReplyTo) {
    return new Threads.Message(n, n, Instant.ofEpochSecond(1_700_000_000L + n * 60), BaseSubject.extract(subject),
        id, refs, inReplyTo);
  }

  @Test
  void referencesLinkParentsChildrenAndSiblingsInDateOrder() {
    List<Threads.Message> m = List.of(msg(1, "a", "<1@x>", null, null), msg(2, "Re: a", "<2@x>", "<1@x>", null),
        msg(3, "Re: a", "<3@x>", "<1@x> <2@x>", null), msg(4, "Re: a", "<4@x>", null, "<1@x> <9@x>"));
    assertThat(Threads.references(m)).isEqualTo("(1 (2 3)(4))");
  }

  /** Step 1: a link that would make a loop is not made, wherever the loop closes. */
  @Test
  void loopsInReferencesAreNotFollowed() {
    List<Threads.Message> m = List.of(msg(1, "x", "<a@x>", "<c@x> <b@x>", null),
        msg(2, "y", "<b@x>", "<a@x> <c@x>", null), msg(3, "z", "<c@x>", "<b@x> <a@x>", null),
        msg(4, "w", "<d@x>", "<d@x>", null));
    String t = Threads.references(m);
    // every message appears exactly once
    for (String n : List.of("1", "2", "3", "4")) {
      assertThat(t.split("[^0-9]+")).containsOnlyOnce(n);
    }
    assertThat(t).endsWith("(4)");
  }

  /** Step 1A: a duplicate Message-ID is the first message's; the second is a message of its own. */
  @Test
  void duplicateMessageIdsStaySeparate() {
    List<Threads.Message> m = List.of(msg(1, "a", "<1@x>", null, null), msg(2, "b", "<1@x>", null, null),
        msg(3, "Re: a", "<3@x>", "<1@x>", null));
    assertThat(Threads.references(m)).isEqualTo("(1 3)(2)");
  }

  /** Steps 3 and 5: a dummy with one child is replaced by it; roots of one subject gathered under a new dummy. */
  @Test
  void dummiesAndSubjectGathering() {
    List<Threads.Message> m = List.of(msg(1, "Re: lost", "<1@x>", "<gone@x>", null),
        msg(2, "Re: other", "<2@x>", "<gone2@x>", null), msg(3, "Re: other", "<3@x>", "<gone3@x>", null));
    assertThat(Threads.references(m)).isEqualTo("(1)((2)(3))");
  }

  @Test
  void orderedSubjectHasNoGrandchildren() {
    List<Threads.Message> m = List.of(msg(1, "b", null, null, null), msg(2, "a", null, null, null),
        msg(3, "Re: b", null, null, null), msg(4, "Re: a", null, null, null), msg(5, "Fwd: b", null, null, null));
    assertThat(Threads.orderedSubject(m)).isEqualTo("(1 (3)(5))(2 4)");
  }

  @Test
  void msgIdsAreBounded() {
    assertThat(Threads.msgIds("<a@x> (c) <b@x>\r\n <c@x>", 100)).containsExactly("a@x", "b@x", "c@x");
    assertThat(Threads.msgIds("junk <no-at> <<x@y> <z @ w>", 100)).containsExactly("x@y", "z@w");
    assertThat(Threads.msgIds("<" + "a".repeat(1000) + "@x>", 100)).isEmpty();
    assertThat(Threads.msgIds("<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>", 1))
        .containsExactly("01KF8JCEOCBS0045PS@xxx.yyy.com"); // RFC 5256 §3's example
    StringBuilder many = new StringBuilder();
    for (int i = 0; i < 5000; i++) {
      many.append('<').append(i).append("@x> ");
    }
    List<String> last = Threads.msgIds(many.toString(), Threads.MAX_REFS);
    assertThat(last).hasSize(Threads.MAX_REFS).endsWith("4999@x").startsWith("4900@x");
  }

  /**
   * A reply chain as long as a large mailbox, and every message referencing all before it (capped): no recursion.
   * Measured at a load average of 28 on 2 cores: 0.4 s, 0.5 s, 1.0 s and 0.04 s for the four.
   */
  @Test
  void deepChainsAndLongReferencesStayFast() {
    List<Threads.Message> chain = new ArrayList<>();
    List<Threads.Message> wide = new ArrayList<>();
    StringBuilder refs = new StringBuilder();
    for (int i = 1; i <= 50_000; i++) {
      chain.add(msg(i, "Re: deep", "<" + i + "@x>", i > 1 ? "<" + (i - 1) + "@x>" : null, null));
    }
    for (int i = 1; i <= 3_000; i++) {
      wide.add(msg(i, "s", "<" + i + "@x>", refs.toString(), null));
      refs.append('<').append(i).append("@x> ");
    }
    // reversed: each message is parent of an existing chain, the loop checks walk up
    List<Threads.Message> reversed = new ArrayList<>();
    for (int i = 50_000; i >= 1; i--) {
      reversed.add(new Threads.Message(50_001 - i, 50_001 - i, Instant.ofEpochSecond(i),
          BaseSubject.extract("x"), "<" + i + "@x>", i > 1 ? "<" + (i - 1) + "@x>" : null, null));
    }
    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
      assertThat(Threads.references(chain)).startsWith("(1 2 3 ").endsWith(" 49999 50000)");
      assertThat(Threads.references(wide)).startsWith("(1 2 3 ");
      assertThat(Threads.references(reversed)).startsWith("(50000 49999 ");
      assertThat(Threads.orderedSubject(chain)).startsWith("(1 (2)(3)");
    });
  }
}
