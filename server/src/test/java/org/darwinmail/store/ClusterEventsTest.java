package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.store.ClusterEvents.Topic;
import org.junit.jupiter.api.Test;

/** The cluster channel's payload: bounded, split below PostgreSQL's limit, any key read back as it was sent. */
class ClusterEventsTest {
  @Test
  void keysWithSpacesNewlinesAndNonAsciiComeBackAsTheyWere() {
    List<String> keys = List.of("f\nAlice Smith@example.test\n192.0.2.1", "u\npair:bob|::1", "Grüße@例え.jp", "");
    List<String> payloads = ClusterEvents.payloads("n1", Topic.LOGIN, keys);
    assertThat(payloads).hasSize(1);
    ClusterEvents.Received r = ClusterEvents.parse(payloads.getFirst());
    assertThat(r).isEqualTo(new ClusterEvents.Received("n1", Topic.LOGIN, keys));
  }

  @Test
  void manyKeysAreSplitBelowTheLimitAndALongKeyIsCut() {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      keys.add(i + ":" + (1_000_000_000L + i));
    }
    keys.add("x".repeat(10_000));
    List<String> payloads = ClusterEvents.payloads("n1", Topic.MAILBOX, keys);
    assertThat(payloads.size()).isGreaterThan(1);
    List<String> back = new ArrayList<>();
    for (String p : payloads) {
      assertThat(p.getBytes(StandardCharsets.UTF_8).length).isLessThan(8000);
      back.addAll(ClusterEvents.parse(p).keys());
    }
    assertThat(back).hasSize(keys.size());
    assertThat(back.subList(0, 2000)).isEqualTo(keys.subList(0, 2000));
    assertThat(back.getLast()).isEqualTo("x".repeat(ClusterEvents.KEY_MAX));
  }

  @Test
  void aTopicWithoutKeysAndPayloadsThatAreNotOursAreTold() {
    assertThat(ClusterEvents.parse(ClusterEvents.payloads("n2", Topic.DIRECTORY, List.of()).getFirst()))
        .isEqualTo(new ClusterEvents.Received("n2", Topic.DIRECTORY, List.of()));
    assertThat(ClusterEvents.parse("hello")).isNull();
    assertThat(ClusterEvents.parse("n1 z key")).as("a topic of a newer release").isNull();
    assertThat(ClusterEvents.parse("n1 m %zz")).as("bad encoding").isNull();
    assertThat(ClusterEvents.parse("")).isNull();
    assertThat(ClusterEvents.parse(null)).isNull();
  }
}
