package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The caches over stored data: on one node (Derby) an entry lives until the next change made here; on a database
 * shared by several nodes it also expires, since another node's change never empties this process's cache.
 */
class GenerationCacheTest {
  @Test
  void anEntryLivesUntilAChangeWhenTheDatabaseIsThisProcesssAlone() throws Exception {
    AtomicInteger loads = new AtomicInteger();
    GenerationCache<String, Integer> c = GenerationCache.of(10, false);
    assertThat(c.get("a", k -> loads.incrementAndGet())).isEqualTo(1);
    Thread.sleep(SqlRunner.STALE_AFTER.toMillis() + 100);
    assertThat(c.get("a", k -> loads.incrementAndGet())).isEqualTo(1);
    assertThat(c.peek("a")).isEqualTo(1);
    c.invalidate();
    assertThat(c.peek("a")).isNull();
    assertThat(c.get("a", k -> loads.incrementAndGet())).isEqualTo(2);
  }

  @Test
  void onASharedDatabaseAnEntryIsReadAgainOnceItIsOlderThanItsMaximumAge() throws Exception {
    AtomicInteger loads = new AtomicInteger();
    GenerationCache<String, Integer> c = new GenerationCache<>(10, Duration.ofSeconds(2));
    assertThat(c.get("a", k -> loads.incrementAndGet())).isEqualTo(1);
    assertThat(c.get("a", k -> loads.incrementAndGet())).isEqualTo(1);
    Thread.sleep(2_300);
    assertThat(c.peek("a")).as("too old to be served without a read").isNull();
    assertThat(c.get("a", k -> loads.incrementAndGet())).isEqualTo(2);
    assertThat(GenerationCache.<String, Integer>of(10, true).get("b", k -> 7)).isEqualTo(7);
  }
}
