package org.darwinmail.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster event channel on PostgreSQL ({@link ClusterEvents}): one connection of its own (not the pool's) that
 * {@code LISTEN}s on {@link ClusterEvents#CHANNEL}, read by one platform daemon thread, {@code cluster-listen}, that
 * waits for notifications ({@code PGConnection.getNotifications} with a timeout) and calls the listeners of each
 * one another node sent.
 *
 * <p>When the connection breaks (PostgreSQL restarted, the network), the thread reconnects after a pause doubling
 * from 100 ms to 5 s, with one log line when it is lost and one when it is back; once listening again it calls every
 * listener with null ("anything may have changed"), since what was committed meanwhile was announced to nobody. It
 * does the same after the first {@code LISTEN}: what changed between the components' start and then. Every
 * {@link #recheck} it calls the {@link Topic#MAILBOX} listeners with null (the mail store compares its watched
 * mailboxes' modseqs with the database) and the {@link Topic#SENDER} listeners too (the send guard reads the blocks
 * again), and checks that its connection still answers.
 */
final class PostgresClusterEvents implements ClusterEvents {
  private static final Logger log = LoggerFactory.getLogger(PostgresClusterEvents.class);
  /** How long one wait for notifications lasts: also the longest a {@link #close} waits for the thread. */
  private static final int WAIT_MILLIS = 250;
  private static final Duration BACKOFF_MIN = Duration.ofMillis(100);
  private static final Duration BACKOFF_MAX = Duration.ofSeconds(5);

  private final PostgresDatabase db;
  private final Duration recheck;
  private final Map<Topic, List<Consumer<String>>> listeners = new EnumMap<>(Topic.class);
  private final Thread thread;
  private volatile boolean closed;
  /** Topics whose "anything may have changed" a listener failed to take (the pool not back yet): told again. */
  private final java.util.EnumSet<Topic> owed = java.util.EnumSet.noneOf(Topic.class);
  /** Counts the times the channel started listening (1 after the first LISTEN): for tests and the log. */
  private volatile int connects;

  private PostgresClusterEvents(PostgresDatabase db, Duration recheck) {
    this.db = db;
    this.recheck = recheck;
    for (Topic t : Topic.values()) {
      listeners.put(t, new CopyOnWriteArrayList<>());
    }
    this.thread = new Thread(this::run, "cluster-listen");
    thread.setDaemon(true);
  }

  /** Starts listening for {@code db}'s node; the mailbox safety net every 5 s. */
  static PostgresClusterEvents start(PostgresDatabase db) {
    return start(db, Duration.ofSeconds(5));
  }

  static PostgresClusterEvents start(PostgresDatabase db, Duration recheck) {
    PostgresClusterEvents e = new PostgresClusterEvents(db, recheck);
    e.thread.start();
    return e;
  }

  @Override
  public void subscribe(Topic topic, Consumer<String> listener) {
    listeners.get(topic).add(listener);
  }

  @Override
  public void publish(Topic topic, String key) {
    try {
      db.read(c -> {
        ClusterEvents.send(db, c, topic, key);
        return null;
      });
    } catch (RuntimeException e) {
      log.debug("cannot announce a {} event to the other nodes: {}", topic, e.toString());
    }
  }

  /** How many times the channel started listening so far. */
  int connects() {
    return connects;
  }

  @Override
  public void close() {
    closed = true;
    try {
      thread.join(WAIT_MILLIS * 8L);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- the thread --------------------------------------------------------------------------------------------

  private void run() {
    Duration backoff = BACKOFF_MIN;
    boolean lost = false;
    while (!closed) {
      int timeout = (int) Math.max(10, recheck.multipliedBy(3).toSeconds());
      try (Connection c = db.listenerConnection(timeout)) {
        try (Statement s = c.createStatement()) {
          s.execute("LISTEN " + CHANNEL);
        }
        connects++;
        if (lost) {
          log.info("cluster event channel listening again; caches emptied, watched mailboxes rechecked");
          lost = false;
        }
        backoff = BACKOFF_MIN;
        everything(); // what committed before this LISTEN was announced to nobody here
        listen(c);
      } catch (SQLException | RuntimeException e) {
        if (closed) {
          break;
        }
        if (!lost) {
          log.warn("cluster event channel lost ({}); reconnecting (other nodes' changes are seen late until then)",
              e.getMessage());
          lost = true;
        }
        sleep(backoff);
        backoff = backoff.multipliedBy(2).compareTo(BACKOFF_MAX) > 0 ? BACKOFF_MAX : backoff.multipliedBy(2);
      }
    }
  }

  /** Waits for notifications until closed; throws when the connection breaks. */
  private void listen(Connection c) throws SQLException {
    PGConnection pg = c.unwrap(PGConnection.class);
    long nextCheck = System.nanoTime() + recheck.toNanos();
    while (!closed) {
      PGNotification[] got = pg.getNotifications(WAIT_MILLIS);
      if (got != null) {
        for (PGNotification n : got) {
          received(n.getParameter());
        }
      }
      if (System.nanoTime() - nextCheck >= 0) {
        try (Statement s = c.createStatement()) {
          s.execute("SELECT 1"); // a connection that died silently answers with an error here (socket timeout)
        }
        java.util.Set<Topic> again = java.util.EnumSet.copyOf(owed);
        again.add(Topic.MAILBOX);
        again.add(Topic.SENDER); // blocks: a missed block or unblock is read from the table within this period
        owed.clear();
        for (Topic t : again) {
          call(t, null);
        }
        nextCheck = System.nanoTime() + recheck.toNanos();
      }
    }
  }

  private void received(String payload) {
    Received r = ClusterEvents.parse(payload);
    if (r == null || r.node().equals(db.node())) {
      return; // not ours to read, or this node's own change (announced in-process already)
    }
    if (r.keys().isEmpty()) {
      call(r.topic(), null);
    }
    for (String k : r.keys()) {
      call(r.topic(), k);
    }
  }

  /** Every listener of every topic with null: anything may have changed. */
  private void everything() {
    for (Topic t : Topic.values()) {
      call(t, null);
    }
  }

  private void call(Topic topic, String key) {
    for (Consumer<String> l : listeners.get(topic)) {
      try {
        l.accept(key);
      } catch (RuntimeException e) {
        if (key == null) {
          owed.add(topic); // told again at the next recheck: a block or cache missed meanwhile is not lost
        }
        log.warn("a {} listener of the cluster event channel failed: {}", topic, e.toString());
      }
    }
  }

  private void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }
}
