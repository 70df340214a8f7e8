package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Occupies every virtual-thread carrier of the JVM with computing virtual threads (no time slicing: each keeps its
 * carrier until released), so that a test can show what is answered without a hand-off to a virtual thread.
 */
final class BusyCarriers implements AutoCloseable {
  private final AtomicBoolean release = new AtomicBoolean();
  private final List<Thread> hogs = new ArrayList<>();

  BusyCarriers() throws InterruptedException {
    String configured = System.getProperty("jdk.virtualThreadScheduler.parallelism");
    int carriers = Math.max(Runtime.getRuntime().availableProcessors(),
        configured == null ? 0 : Integer.parseInt(configured));
    CountDownLatch busy = new CountDownLatch(carriers);
    long cap = System.nanoTime() + TimeUnit.SECONDS.toNanos(40); // a failing run must not spin for ever
    for (int i = 0; i < carriers; i++) {
      hogs.add(Thread.ofVirtual().start(() -> {
        busy.countDown();
        while (!release.get() && System.nanoTime() < cap) {
          Thread.onSpinWait();
        }
      }));
    }
    // Every carrier is busy once every hog runs, or when one still waits after 30 s: a hog never yields, so a
    // hog that has not started has found no free carrier (another of the JVM's virtual threads holds one; seen
    // once in a full `make check` under load). Either way nothing is left for a hand-off to a virtual thread.
    if (!busy.await(30, TimeUnit.SECONDS)) {
      assertThat(busy.getCount()).as("hogs running").isLessThan(carriers);
    }
  }

  @Override
  public void close() throws InterruptedException {
    release.set(true);
    for (Thread t : hogs) {
      t.join();
    }
  }
}
