package org.darwinmail.store;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A read-through cache of what rarely changes (address resolutions, mailbox ids), emptied by {@link #invalidate}
 * after every change is committed. An entry remembers the generation it was read in and counts only while no change
 * happened since, so a value read concurrently with a change is never served after it. Bounded: it is emptied when
 * it holds {@code capacity} entries. With a maximum age (a database shared by several nodes, whose changes this
 * process does not see), an entry older than that is read again: another node's change shows here within that time.
 */
final class GenerationCache<K, V> {
  private record Entry<V>(long generation, long loadedAt, V value) {}

  private final Map<K, Entry<V>> map = new ConcurrentHashMap<>();
  private final AtomicLong generation = new AtomicLong();
  private final int capacity;
  /** Nanoseconds an entry is served for; 0: until the next {@link #invalidate}. */
  private final long maxAgeNanos;

  GenerationCache(int capacity) {
    this(capacity, Duration.ZERO);
  }

  GenerationCache(int capacity, Duration maxAge) {
    this.capacity = capacity;
    this.maxAgeNanos = maxAge.toNanos();
  }

  /** A cache whose entries live at most {@link SqlRunner#STALE_AFTER} when {@code shared}, else until a change. */
  static <K, V> GenerationCache<K, V> of(int capacity, boolean shared) {
    return new GenerationCache<>(capacity, shared ? SqlRunner.STALE_AFTER : Duration.ZERO);
  }

  V get(K key, Function<K, V> load) {
    long g = generation.get();
    Entry<V> e = map.get(key);
    if (e != null && fresh(e, g)) {
      return e.value();
    }
    long t = System.nanoTime();
    V v = load.apply(key);
    if (map.size() >= capacity) {
      map.clear();
    }
    map.put(key, new Entry<>(g, t, v));
    return v;
  }

  /** The value held for {@code key} in the current generation, or null; never loads. */
  V peek(K key) {
    Entry<V> e = map.get(key);
    return e != null && fresh(e, generation.get()) ? e.value() : null;
  }

  private boolean fresh(Entry<V> e, long g) {
    return e.generation() == g && (maxAgeNanos == 0 || System.nanoTime() - e.loadedAt() < maxAgeNanos);
  }

  void invalidate() {
    generation.incrementAndGet();
    map.clear();
  }
}
