package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ClusterLocks} on PostgreSQL: {@code pg_try_advisory_lock(space, id)} on one connection of this node's own
 * (not the pool's: a session lock lives as long as its connection, so it must stay open; opened at the first lock).
 * The two-key form: a space of its own, apart from the migrations' one-key lock; the id is the low 32 bits of the
 * account id (two accounts 2^32 apart would share a lock: one would be told "in use" while the other is open).
 * Calls take turns on the connection (each is one short statement). When it breaks (PostgreSQL restarted), the locks
 * went with it: the next call opens another and takes the held locks again (shared ones as many times as held), one
 * taken meanwhile by another node being logged and left to it. Each connection is a new {@link #session}: a lock
 * taken again on it may have been free for a while (another node's collector may have deleted the blob meanwhile),
 * which {@link #heldThrough} tells the transaction about to commit a row referring to it.
 */
final class PostgresClusterLocks implements ClusterLocks {
  private static final Logger log = LoggerFactory.getLogger(PostgresClusterLocks.class);
  private final PostgresDatabase db;
  /** Guarded by this. */
  private Connection connection;
  private final Set<Key> held = new HashSet<>();
  /** Shared locks held, with how many times each (they stack). */
  private final java.util.Map<Key, Integer> heldShared = new java.util.HashMap<>();

  /** The current connection's session number, backend pid and backend start (microseconds since 1970); guarded. */
  private long session;
  private int pid;
  private long started;

  private record Key(int space, int id) {}

  PostgresClusterLocks(PostgresDatabase db) {
    this.db = db;
  }

  @Override
  public synchronized boolean tryLock(int space, long id) {
    Key k = new Key(space, (int) id);
    if (call("pg_try_advisory_lock", k)) {
      held.add(k);
      return true;
    }
    return false;
  }

  @Override
  public synchronized void unlock(int space, long id) {
    Key k = new Key(space, (int) id);
    if (!held.remove(k)) {
      return;
    }
    try {
      call("pg_advisory_unlock", k);
    } catch (StoreException e) {
      log.warn("cannot release lock {}/{} ({}): it goes with the connection", space, id, e.getMessage());
    }
  }

  @Override
  public synchronized boolean tryLockShared(int space, long id) {
    Key k = new Key(space, (int) id);
    if (call("pg_try_advisory_lock_shared", k)) {
      heldShared.merge(k, 1, Integer::sum);
      return true;
    }
    return false;
  }

  @Override
  public synchronized void unlockShared(int space, long id) {
    Key k = new Key(space, (int) id);
    Integer n = heldShared.get(k);
    if (n == null) {
      return; // lost with a broken connection (logged then)
    }
    if (n == 1) {
      heldShared.remove(k);
    } else {
      heldShared.put(k, n - 1);
    }
    try {
      call("pg_advisory_unlock_shared", k);
    } catch (StoreException e) {
      log.warn("cannot release shared lock {}/{} ({}): it goes with the connection", space, id, e.getMessage());
    }
  }

  @Override
  public synchronized long session() {
    return session;
  }

  @Override
  public boolean heldThrough(Connection tx, int space, long id, long session) throws SQLException {
    int backend;
    long since;
    synchronized (this) {
      if (session != this.session || connection == null) {
        return false; // replaced since: the lock may have been free in between
      }
      backend = pid;
      since = started;
    }
    Key k = new Key(space, (int) id);
    if (!run(tx, "pg_try_advisory_xact_lock_shared", k)) {
      return false; // held exclusively: another node's collector took it after this node's went
    }
    // Only now (the transaction holding it from here): is it still held by that connection's backend, which took it
    // and cannot have let it go unasked without ending? pg_locks shows the two-key form as classid, objid (as oid),
    // objsubid 2; pid and backend start together name one backend, whatever pids the system re-uses.
    try (PreparedStatement ps = tx.prepareStatement("SELECT 1 FROM pg_locks l"
        + " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
        + " AND l.classid::bigint = ? AND l.objid::bigint = ? AND l.objsubid = 2"
        + " AND l.mode = 'ShareLock' AND l.granted AND l.pid = ?"
        + " AND (extract(epoch FROM a.backend_start) * 1000000)::bigint = ?")) {
      ps.setLong(1, Integer.toUnsignedLong(k.space()));
      ps.setLong(2, Integer.toUnsignedLong(k.id()));
      ps.setInt(3, backend);
      ps.setLong(4, since);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** Runs {@code function(space, id)}; once more on a new connection when the first one fails. */
  private boolean call(String function, Key k) {
    for (int attempt = 0; ; attempt++) {
      try {
        return run(connection(), function, k);
      } catch (SQLException e) {
        drop();
        if (attempt > 0) {
          throw new StoreException("cannot reach PostgreSQL for a lock: " + e.getMessage(), e);
        }
      }
    }
  }

  private static boolean run(Connection c, String function, Key k) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT " + function + "(?, ?)")) {
      ps.setInt(1, k.space());
      ps.setInt(2, k.id());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  private Connection connection() throws SQLException {
    if (connection == null) {
      Connection c = db.listenerConnection(30);
      try {
        try (PreparedStatement ps = c.prepareStatement("SELECT pid, (extract(epoch FROM backend_start) * 1000000)"
            + "::bigint FROM pg_stat_activity WHERE pid = pg_backend_pid()");
            ResultSet rs = ps.executeQuery()) {
          rs.next();
          pid = rs.getInt(1);
          started = rs.getLong(2);
        }
        session++; // before the locks are taken again: none of them counts as held through the break
        for (Key k : Set.copyOf(held)) { // the locks of a broken connection went with it
          if (!run(c, "pg_try_advisory_lock", k)) {
            held.remove(k);
            log.warn("lock {}/{} was taken by another node while the connection was down", k.space(), k.id());
          }
        }
        for (var e : java.util.Map.copyOf(heldShared).entrySet()) {
          for (int i = 0; i < e.getValue(); i++) {
            if (!run(c, "pg_try_advisory_lock_shared", e.getKey())) {
              heldShared.remove(e.getKey());
              log.warn("shared lock {}/{} was taken exclusively by another node while the connection was down",
                  e.getKey().space(), e.getKey().id());
              break;
            }
          }
        }
      } catch (SQLException | RuntimeException e) {
        try {
          c.close();
        } catch (SQLException x) {
          e.addSuppressed(x);
        }
        throw e;
      }
      connection = c;
    }
    return connection;
  }

  private void drop() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        // gone already
      }
      connection = null;
    }
  }

  @Override
  public synchronized void close() {
    held.clear();
    heldShared.clear();
    drop(); // PostgreSQL frees every lock of the connection
  }
}
