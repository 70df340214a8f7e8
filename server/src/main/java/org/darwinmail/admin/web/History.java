package org.darwinmail.admin.web;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * About a day of the dashboard's history, in memory: a ring buffer of {@link #SLOTS} slots of {@code step} (5
 * minutes by default: 24 hours). At each step the sampler reads the same Micrometer counters that {@code /metrics}
 * exports and keeps how much each grew during the step: mail in (messages received), mail out (recipients
 * delivered to other servers), deferred and bounced recipients. A restart starts an empty history; a counter that
 * went down (a registry reset) counts as 0 for that step.
 */
final class History {
  static final int SLOTS = 288;
  /** The series, their counter and tag, in the order the chart draws them. */
  static final List<Series> SERIES = List.of(
      new Series("in", "darwinmail.messages.received", null, null),
      new Series("out", "darwinmail.delivery.recipients", "result", "delivered"),
      new Series("deferred", "darwinmail.delivery.recipients", "result", "deferred"),
      new Series("bounced", "darwinmail.delivery.recipients", "result", "bounced"));

  record Series(String name, String meter, String tag, String value) {}

  private final MeterRegistry registry;
  private final Duration step;
  private final Clock clock;
  /** slot -> per series growth; starts[slot] is when the slot began (null: never filled). */
  private final long[][] counts = new long[SLOTS][SERIES.size()];
  private final Instant[] starts = new Instant[SLOTS];
  private final double[] last = new double[SERIES.size()];
  private int head = -1;
  private Thread sampler;
  private volatile boolean running;

  History(MeterRegistry registry, Duration step, Clock clock) {
    this.registry = registry;
    this.step = step;
    this.clock = clock;
    for (int i = 0; i < SERIES.size(); i++) {
      last[i] = read(SERIES.get(i));
    }
  }

  private double read(Series s) {
    double sum = 0;
    for (Counter c : (s.tag() == null ? registry.find(s.meter()) : registry.find(s.meter()).tag(s.tag(), s.value()))
        .counters()) {
      sum += c.count();
    }
    return sum;
  }

  /** Closes the current step: what each counter grew by since the last sample goes into a new slot. */
  synchronized void sample() {
    head = (head + 1) % SLOTS;
    starts[head] = clock.instant().minus(step);
    for (int i = 0; i < SERIES.size(); i++) {
      double now = read(SERIES.get(i));
      counts[head][i] = Math.max(0, Math.round(now - last[i]));
      last[i] = now;
    }
  }

  /** The points, oldest first: each slot's start and growth per series; plus the step in seconds. */
  synchronized Map<String, Object> view() {
    List<Map<String, Object>> points = new ArrayList<>();
    for (int k = SLOTS - 1; k >= 0 && head >= 0; k--) {
      int i = Math.floorMod(head - k, SLOTS);
      if (starts[i] == null) {
        continue;
      }
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("at", starts[i].toString());
      for (int s = 0; s < SERIES.size(); s++) {
        p.put(SERIES.get(s).name(), counts[i][s]);
      }
      points.add(p);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stepSeconds", step.toSeconds());
    m.put("series", SERIES.stream().map(Series::name).toList());
    m.put("points", points);
    // the step under way, not closed yet: what the counters grew by since the last sample
    Map<String, Object> now = new LinkedHashMap<>();
    for (int s = 0; s < SERIES.size(); s++) {
      now.put(SERIES.get(s).name(), Math.max(0, Math.round(read(SERIES.get(s)) - last[s])));
    }
    m.put("current", now);
    return m;
  }

  /** Samples every step on a virtual thread until {@link #close}. */
  History start() {
    running = true;
    sampler = Thread.ofVirtual().name("admin-history").start(() -> {
      while (running) {
        try {
          Thread.sleep(step);
        } catch (InterruptedException e) {
          return;
        }
        sample();
      }
    });
    return this;
  }

  void close() {
    running = false;
    if (sampler != null) {
      sampler.interrupt();
    }
  }
}
