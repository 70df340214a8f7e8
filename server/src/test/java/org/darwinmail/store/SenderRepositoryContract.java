package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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

  /** Two nodes recording the same first-time recipients of one account at once: no error, each recorded once. */
  @Test
  void twoNodesRecordingTheSameRecipientsTogetherBothSucceed() throws Exception {
    SenderRepository other = repository(engine.node());
    List<String> rcpts = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      rcpts.add("r" + i + "@example.org");
    }
    ExecutorService ex = Executors.newFixedThreadPool(2);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> fs = new ArrayList<>();
      for (SenderRepository node : List.of(s, other)) {
        fs.add(ex.submit(() -> {
          go.await();
          for (String r : rcpts) {
            node.rememberRecipients("alice@example.test", List.of(r, "common@example.org"), Instant.now());
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : fs) {
        f.get();
      }
    } finally {
      ex.shutdownNow();
    }
    assertThat(s.knownRecipients("alice@example.test")).hasSize(51);
  }
}
