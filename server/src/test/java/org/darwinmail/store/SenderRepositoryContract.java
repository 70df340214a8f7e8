package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.AtOnce;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the abuse guard relies on from a {@link SenderRepository}: blocks that survive a restart and are seen by
 * every node, and the recipients an account already wrote to. Run on each engine by a subclass.
 */
abstract class SenderRepositoryContract {
  private Engine engine;
  private SenderRepository s;

  abstract Engine engine();

  abstract SenderRepository repository(SqlRunner node);

  @BeforeEach
  void open() {
    engine = engine();
    s = repository(engine.node());
  }

  @AfterEach
  void close() throws Exception {
    engine.close();
  }

  @Test
  void aBlockIsKeptWithItsFiguresUntilRemovedAndEveryNodeSeesIt() {
    Instant at = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    SenderRepository.Block b = new SenderRepository.Block("alice@example.test", at, "120 messages in 60 s", 120, 400,
        60);
    s.addBlock(b);
    SenderRepository other = repository(engine.node());
    assertThat(other.blocks()).containsExactly(b);
    assertThat(other.removeBlock("alice@example.test")).isTrue();
    assertThat(s.blocks()).isEmpty();
    assertThat(s.removeBlock("alice@example.test")).isFalse();
  }

  @Test
  void knownRecipientsArePerAccountAndRecordedOnce() {
    Instant at = Instant.now();
    s.rememberRecipients("alice@example.test", List.of("bob@example.org", "carol@example.org"), at);
    s.rememberRecipients("alice@example.test", List.of("bob@example.org", "dave@example.org"), at);
    s.rememberRecipients("zoe@example.test", List.of("bob@example.org"), at);
    s.rememberRecipients("zoe@example.test", List.of(), at);
    assertThat(s.knownRecipients("alice@example.test")).containsExactlyInAnyOrder("bob@example.org",
        "carol@example.org", "dave@example.org");
    assertThat(s.knownRecipients("zoe@example.test")).containsExactly("bob@example.org");
    assertThat(s.knownRecipients("nobody@example.test")).isEmpty();
  }

  @Test
  void anOverlongRecipientIsKeptToTheColumnsLength() {
    String longest = "x".repeat(400) + "@example.org";
    s.rememberRecipients("alice@example.test", List.of(longest), Instant.now());
    assertThat(s.knownRecipients("alice@example.test")).containsExactly(longest.substring(0, 320));
  }

  /**
   * Burst counts: every node's additions to one account are summed over the window's buckets, a bucket's row added
   * to rather than repeated, buckets at or before the window's start deleted, and an unblock forgets them.
   */
  @Test
  void burstCountsAreSummedOverEveryNodeWithinTheWindow() {
    SenderRepository other = repository(engine.node());
    String a = "counted@example.test";
    assertThat(s.count(a, 10_000, 1, 3, 0)).isEqualTo(new SenderRepository.Counts(1, 3));
    assertThat(other.count(a, 10_000, 1, 2, 0)).isEqualTo(new SenderRepository.Counts(2, 5));
    assertThat(s.count(a, 20_000, 1, 1, 0)).isEqualTo(new SenderRepository.Counts(3, 6));
    assertThat(s.count("else@example.test", 20_000, 1, 1, 0)).isEqualTo(new SenderRepository.Counts(1, 1));
    // the window moved past the first bucket: its counts are gone
    assertThat(other.count(a, 30_000, 1, 0, 10_000)).isEqualTo(new SenderRepository.Counts(2, 1));
    assertThat(other.count(a, 30_000, 0, 0, 0)).as("the old bucket was deleted, not only left out")
        .isEqualTo(new SenderRepository.Counts(2, 1));
    s.removeBlock(a);
    assertThat(other.count(a, 30_000, 0, 0, 0)).as("forgotten by an unblock").isEqualTo(
        new SenderRepository.Counts(0, 0));
  }

  /** Two nodes counting one account in one bucket at once: every addition kept, and the last sum sees them all. */
  @Test
  void twoNodesCountingOneAccountTogetherLoseNothing() throws Exception {
    SenderRepository other = repository(engine.node());
    List<Long> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    AtOnce.run(List.of(s, other), node -> {
      for (int i = 0; i < 40; i++) {
        seen.add(node.count("busy@example.test", 5_000, 1, 2, 0).messages());
      }
      return null;
    });
    assertThat(s.count("busy@example.test", 5_000, 0, 0, 0)).isEqualTo(new SenderRepository.Counts(80, 160));
    assertThat(seen).as("each count saw its own addition and every one committed before it").doesNotHaveDuplicates()
        .hasSize(80);
  }

  private static final int[] WINDOWS = {60, 3600};

  /**
   * The limits' windows: each is summed over its own length (the minute forgets what the hour keeps), an addition
   * is made only when allowed, and an unblock forgets them.
   */
  @Test
  void rateCountsAreSummedPerWindowAndAddedOnlyWhenAllowed() {
    SenderRepository other = repository(engine.node());
    String a = "rate@example.test";
    SenderRepository.Tally one = new SenderRepository.Tally(1, 2, 1);
    long t0 = 10_000_000L;
    assertThat(s.rates(a, t0, WINDOWS, one, sums -> true)).containsExactly(SenderRepository.Tally.ZERO,
        SenderRepository.Tally.ZERO);
    assertThat(other.rates(a, t0 + 1_000, WINDOWS, one, sums -> true))
        .containsExactly(one, one);
    assertThat(s.rates(a, t0 + 2_000, WINDOWS, one, sums -> false)).as("a refused count adds nothing")
        .containsExactly(new SenderRepository.Tally(2, 4, 2), new SenderRepository.Tally(2, 4, 2));
    assertThat(s.rates(a, t0 + 60_500, WINDOWS, SenderRepository.Tally.ZERO, sums -> true))
        .as("a minute later: the first left the minute, not the hour")
        .containsExactly(one, new SenderRepository.Tally(2, 4, 2));
    assertThat(s.rates("else@example.test", t0, WINDOWS, SenderRepository.Tally.ZERO, sums -> true))
        .containsExactly(SenderRepository.Tally.ZERO, SenderRepository.Tally.ZERO);
    s.removeBlock(a);
    assertThat(other.rates(a, t0 + 62_000, WINDOWS, SenderRepository.Tally.ZERO, sums -> true))
        .as("forgotten by an unblock").containsExactly(SenderRepository.Tally.ZERO, SenderRepository.Tally.ZERO);
  }

  /**
   * Two nodes counting one account at once against a limit of 30 messages an hour: exactly 30 are allowed, though
   * each node asks 40 times (each count sees every count committed before it: they take turns on the account).
   */
  @Test
  void twoNodesCountingAgainstOneLimitTogetherAllowExactlyTheLimit() throws Exception {
    SenderRepository other = repository(engine.node());
    java.util.concurrent.atomic.AtomicInteger allowed = new java.util.concurrent.atomic.AtomicInteger();
    AtOnce.run(List.of(s, other), node -> {
      for (int i = 0; i < 40; i++) {
        // two nodes' clocks a minute apart: other buckets, whose rows alone would not make the counts take turns
        long now = 50_000_000L + (node == s ? 0 : 60_000);
        List<SenderRepository.Tally> sums = node.rates("busy@example.test", now, WINDOWS,
            new SenderRepository.Tally(1, 1, 0), t -> t.get(1).messages() < 30);
        if (sums.get(1).messages() < 30) {
          allowed.incrementAndGet();
        }
      }
      return null;
    });
    assertThat(allowed.get()).isEqualTo(30);
  }

  /** Two nodes recording the same first-time recipients of one account at once: no error, each recorded once. */
  @Test
  void twoNodesRecordingTheSameRecipientsTogetherBothSucceed() throws Exception {
    SenderRepository other = repository(engine.node());
    List<String> rcpts = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      rcpts.add("r" + i + "@example.org");
    }
    AtOnce.run(List.of(s, other), node -> {
      for (String r : rcpts) {
        node.rememberRecipients("alice@example.test", List.of(r, "common@example.org"), Instant.now());
      }
      return null;
    });
    assertThat(s.knownRecipients("alice@example.test")).hasSize(51);
  }
}
