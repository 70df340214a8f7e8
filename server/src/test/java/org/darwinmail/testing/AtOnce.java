package org.darwinmail.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Two or more nodes doing their work at the same instant: the repository contracts' races (one thread per node,
 * all released by one latch). The results come back in the nodes' order; the first failure is thrown, wrapped as
 * {@link Future#get} wraps it.
 */
public final class AtOnce {
  private AtOnce() {}

  /** One node's work. */
  @FunctionalInterface
  public interface Work<N, R> {
    R on(N node) throws Exception;
  }

  public static <N, R> List<R> run(List<N> nodes, Work<N, R> work) throws Exception {
    ExecutorService ex = Executors.newFixedThreadPool(nodes.size());
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<R>> fs = new ArrayList<>();
      for (N node : nodes) {
        fs.add(ex.submit(() -> {
          go.await();
          return work.on(node);
        }));
      }
      go.countDown();
      List<R> out = new ArrayList<>();
      for (Future<R> f : fs) {
        out.add(f.get());
      }
      return out;
    } finally {
      ex.shutdownNow();
    }
  }
}
