package org.darwinmail.store;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A read-through cache of what rarely changes (address resolutions, mailbox ids), emptied by {@link #invalidate}
 * after every change is committed. An entry remembers the generation it was read in and counts only while no change
 * happened since, so a value read concurrently with a change is never served after it. Bounded: it is emptied when
 * it holds {@code capacity} entries.
 */
final class GenerationCache<K, V> {
  private record Entry<V>(long generation, V value) {}

  private final Map<K, Entry<V>> map = new ConcurrentHashMap<>();
  private final AtomicLong generation = new AtomicLong();
  private final int capacity;

  GenerationCache(int capacity) {
    this.capacity = capacity;
  }

  V get(K key, Function<K, V> load) {
    long g = generation.get();
    Entry<V> e = map.get(key);
    if (e != null && e.generation() == g) {
      return e.value();
    }
    V v = load.apply(key);
    if (map.size() >= capacity) {
      map.clear();
    }
    map.put(key, new Entry<>(g, v));
    return v;
  }

  /** The value held for {@code key} in the current generation, or null; never loads. */
  V peek(K key) {
    Entry<V> e = map.get(key);
    return e != null && e.generation() == generation.get() ? e.value() : null;
  }

  void invalidate() {
    generation.incrementAndGet();
    map.clear();
  }
}
