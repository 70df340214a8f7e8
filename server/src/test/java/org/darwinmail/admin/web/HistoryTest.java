package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The dashboard's day of history: each step keeps what the counters grew by; the ring keeps the last 288 steps. */
class HistoryTest {
  @Test
  @SuppressWarnings("unchecked")
  void eachStepKeepsTheGrowthOfItsCountersAndTheRingKeepsADay() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    var in = registry.counter("darwinmail.messages.received");
    var delivered = registry.counter("darwinmail.delivery.recipients", "result", "delivered");
    var bounced = registry.counter("darwinmail.delivery.recipients", "result", "bounced");
    in.increment(5); // before the history starts: not counted
    History h = new History(registry, Duration.ofMinutes(5), Clock.systemUTC());
    in.increment(3);
    delivered.increment(2);
    h.sample();
    bounced.increment();
    h.sample();
    in.increment(7);
    Map<String, Object> v = h.view();
    List<Map<String, Object>> points = (List<Map<String, Object>>) v.get("points");
    assertThat(points).hasSize(2);
    assertThat(points.get(0)).containsEntry("in", 3L).containsEntry("out", 2L).containsEntry("bounced", 0L);
    assertThat(points.get(1)).containsEntry("in", 0L).containsEntry("bounced", 1L);
    assertThat((Map<String, Object>) v.get("current")).containsEntry("in", 7L);
    for (int i = 0; i < History.SLOTS - 2; i++) {
      h.sample(); // the 7 goes into the third step; the ring is full with 288 steps
    }
    points = (List<Map<String, Object>>) h.view().get("points");
    assertThat(points).hasSize(History.SLOTS);
    assertThat(points.stream().mapToLong(p -> (Long) p.get("in")).sum()).isEqualTo(10);
    h.sample();
    points = (List<Map<String, Object>>) h.view().get("points");
    assertThat(points).hasSize(History.SLOTS);
    assertThat(points.stream().mapToLong(p -> (Long) p.get("in")).sum()).as("the oldest step left the ring")
        .isEqualTo(7);
  }
}
