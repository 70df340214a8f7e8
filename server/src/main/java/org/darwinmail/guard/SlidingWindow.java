package org.darwinmail.guard;

/**
 * A count over a sliding time window, kept in a fixed number of buckets (bounded memory whatever the rate): the
 * sum of the buckets younger than the window. Not thread-safe; callers synchronise.
 */
final class SlidingWindow {
  private static final int BUCKETS = 60;
  private final long length;
  private final long bucketMillis;
  private final long[] counts = new long[BUCKETS];
  private final long[] starts = new long[BUCKETS];

  SlidingWindow(long lengthMillis) {
    this.length = lengthMillis;
    this.bucketMillis = Math.max(1, lengthMillis / BUCKETS);
  }

  long lengthMillis() {
    return length;
  }

  long bucketMillis() {
    return bucketMillis;
  }

  /** The start of the bucket {@code now} falls in (the shared counts use the same buckets). */
  long bucketStart(long now) {
    return now - now % bucketMillis;
  }

  void add(long now, long n) {
    long start = bucketStart(now);
    int i = (int) ((start / bucketMillis) % BUCKETS);
    if (starts[i] != start) {
      starts[i] = start;
      counts[i] = 0;
    }
    counts[i] += n;
  }

  long sum(long now) {
    long s = 0;
    for (int i = 0; i < BUCKETS; i++) {
      if (starts[i] > now - length && starts[i] <= now) {
        s += counts[i];
      }
    }
    return s;
  }

  void clear() {
    java.util.Arrays.fill(counts, 0);
    java.util.Arrays.fill(starts, 0);
  }
}
