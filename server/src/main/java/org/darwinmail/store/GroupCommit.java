package org.darwinmail.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Group commit (storage-here.md: the lever beyond concurrency): requests that arrive while a transaction is running
 * wait, and the next transaction takes all of them, up to {@code maxBatch}, with one commit (one log force) and one
 * update of each mailbox row instead of one per message. A caller returns only when its own request is committed,
 * so "durable when it returns" holds for each.
 *
 * <p>Leadership passes from batch to batch: the caller that finds no transaction running runs the next batch for
 * everyone queued (itself included), then wakes the others; one of them leads the batch after. When a batch fails,
 * each of its requests is retried alone, so that one bad request (a mailbox deleted meanwhile) fails alone.
 */
public final class GroupCommit<R, T> {
  /** Runs requests in the given transaction; returns one result per request, in order. */
  @FunctionalInterface
  public interface Work<R, T> {
    List<T> run(Connection c, List<R> requests) throws SQLException;
  }

  private static final class Pending<R, T> {
    final R request;
    boolean done;
    T result;
    RuntimeException error;

    Pending(R request) {
      this.request = request;
    }
  }

  private final SqlRunner db;
  private final java.util.concurrent.locks.Lock serial;
  private final Work<R, T> work;
  private final int maxBatch;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition finished = lock.newCondition();
  private final ArrayDeque<Pending<R, T>> queue = new ArrayDeque<>();
  private boolean running;

  public GroupCommit(SqlRunner db, int maxBatch, Work<R, T> work) {
    this(db, maxBatch, null, work);
  }

  /** Holds {@code serial} (when not null) around each transaction, its commit included. */
  public GroupCommit(SqlRunner db, int maxBatch, java.util.concurrent.locks.Lock serial, Work<R, T> work) {
    this.db = db;
    this.serial = serial;
    this.maxBatch = maxBatch;
    this.work = work;
  }

  /** Commits {@code request} (with whatever else is waiting); durable when it returns. */
  public T submit(R request) {
    Pending<R, T> p = new Pending<>(request);
    lock.lock();
    try {
      queue.add(p);
      while (true) {
        while (!p.done && running) {
          finished.awaitUninterruptibly();
        }
        if (p.done) {
          break;
        }
        running = true;
        List<Pending<R, T>> batch = new ArrayList<>();
        while (!queue.isEmpty() && batch.size() < maxBatch) {
          batch.add(queue.poll());
        }
        lock.unlock();
        try {
          run(batch);
        } finally {
          lock.lock();
          for (Pending<R, T> b : batch) {
            b.done = true;
          }
          running = false;
          finished.signalAll();
        }
      }
    } finally {
      lock.unlock();
    }
    if (p.error != null) {
      throw p.error;
    }
    return p.result;
  }

  /** Runs one batch; results and errors are published under the lock, with {@code done}. */
  private void run(List<Pending<R, T>> batch) {
    try {
      List<T> results = tx(batch.stream().map(b -> b.request).toList());
      for (int i = 0; i < batch.size(); i++) {
        batch.get(i).result = results.get(i);
      }
    } catch (RuntimeException e) {
      if (batch.size() == 1) {
        batch.getFirst().error = e;
      } else {
        for (Pending<R, T> p : batch) {
          try {
            p.result = tx(List.of(p.request)).getFirst();
          } catch (RuntimeException alone) {
            p.error = alone;
          }
        }
      }
    }
  }

  private List<T> tx(List<R> requests) {
    if (serial == null) {
      return db.tx(c -> work.run(c, requests));
    }
    serial.lock();
    try {
      return db.tx(c -> work.run(c, requests));
    } finally {
      serial.unlock();
    }
  }
}
