package org.darwinmail.guard;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.store.QueueRepository;

/**
 * The outbound queue's side of {@link HeldMailQueue}, on the queue's public API: holding pushes the account's
 * recipients ten years out of the schedule (durable: a restart keeps them held), releasing makes them due now (the
 * caller of {@link SendGuard#unblock} then wakes the delivery engine), deleting drops them without a bounce.
 */
public final class QueueHold implements HeldMailQueue {
  static final Duration HOLD = Duration.ofDays(3650);
  private final QueueRepository queue;

  public QueueHold(QueueRepository queue) {
    this.queue = queue;
  }

  private List<Long> entries(String account) {
    List<Long> ids = new ArrayList<>();
    for (QueueRepository.Entry e : queue.list().keySet()) {
      if (account.equalsIgnoreCase(e.account())) {
        ids.add(e.id());
      }
    }
    return ids;
  }

  @Override
  public void hold(String account) {
    List<Long> rcpts = new ArrayList<>();
    for (var e : queue.list().entrySet()) {
      if (account.equalsIgnoreCase(e.getKey().account())) {
        e.getValue().forEach(r -> rcpts.add(r.id()));
      }
    }
    if (!rcpts.isEmpty()) {
      queue.deferred(rcpts, Instant.now().plus(HOLD),
          "held: the sender " + account + " is blocked (darwinmail sender unblock " + account + ")");
    }
  }

  @Override
  public int countQueued(String account) {
    return entries(account).size();
  }

  @Override
  public int deleteQueued(String account) {
    List<Long> ids = entries(account);
    return ids.isEmpty() ? 0 : queue.delete(ids);
  }

  @Override
  public void released(String account) {
    List<Long> ids = entries(account);
    if (!ids.isEmpty()) {
      queue.retryNow(ids);
    }
  }
}
