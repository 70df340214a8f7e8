package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Where the SQL engines differ, for the repositories that serve both ({@link SqlQueueRepository},
 * {@link SqlSenderRepository}) and the one migration runner ({@link Migrations}). Everything else is portable SQL
 * both accept as it is ({@code FETCH FIRST n ROWS ONLY} is SQL:2008, which PostgreSQL reads too).
 */
public enum SqlDialect {
  /**
   * Embedded Derby, one process. Its row locks deadlock on the queue's "last recipient?" check and it finds that
   * only after its deadlock timeout (20 s), so writes that could collide take turns in-process ({@link #writes});
   * no row-lock clauses are then needed.
   */
  DERBY(new ReentrantLock()),
  /** PostgreSQL shared by several nodes (issue 20): row locks ({@code FOR UPDATE}, {@code SKIP LOCKED}) instead. */
  POSTGRESQL(null);

  private final Lock writes;

  SqlDialect(Lock writes) {
    this.writes = writes;
  }

  /**
   * The lock that serialises this engine's colliding writes in-process, or null when the database's own row locks
   * do it (PostgreSQL: other nodes write too, so an in-process lock could not).
   */
  public Lock writes() {
    return writes;
  }

  /**
   * Whether one process at a time opens the database (embedded Derby): then a lease found at start-up is a previous
   * run's, and nobody holds it. PostgreSQL is shared by the nodes: a lease there may be a running node's.
   */
  public boolean oneProcess() {
    return this == DERBY;
  }

  /**
   * {@code select} locking the rows it reads until the transaction ends; with {@code skipLocked}, rows another
   * transaction holds are passed over instead of waited for. Derby: {@code select} as it is (its writers take turns).
   */
  public String locking(String select, boolean skipLocked) {
    return writes != null ? select : select + (skipLocked ? " FOR UPDATE SKIP LOCKED" : " FOR UPDATE");
  }

  /** A statement for an {@code INSERT} whose generated {@code id} {@link #insertedId} returns. */
  public PreparedStatement insertReturningId(Connection c, String insert) throws SQLException {
    return this == POSTGRESQL ? c.prepareStatement(insert + " RETURNING id")
        : c.prepareStatement(insert, Statement.RETURN_GENERATED_KEYS);
  }

  /** Runs a statement made by {@link #insertReturningId}: the new row's id. */
  public long insertedId(PreparedStatement ps) throws SQLException {
    if (this == POSTGRESQL) {
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
    ps.executeUpdate();
    try (ResultSet rs = ps.getGeneratedKeys()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * {@code insert} skipping a row whose key is already there: PostgreSQL aborts the whole transaction on a unique
   * violation, so it is told not to raise one ({@code ON CONFLICT DO NOTHING}); Derby has no such clause but lets
   * the next statement run, so the caller passes over the violation ({@link #duplicate}).
   */
  public String skippingDuplicates(String insert) {
    return this == POSTGRESQL ? insert + " ON CONFLICT DO NOTHING" : insert;
  }

  /** Whether {@code e} is a unique-key violation (SQLState 23505 on both engines). */
  public static boolean duplicate(SQLException e) {
    return "23505".equals(e.getSQLState());
  }

  /**
   * Called first in a transaction whose reads must see one snapshot while other nodes write: PostgreSQL's
   * {@code REPEATABLE READ}. Derby: nothing (its writers take turns in this process).
   */
  public void snapshot(Connection c) throws SQLException {
    if (this == POSTGRESQL) {
      try (Statement s = c.createStatement()) {
        s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      }
    }
  }

  /**
   * Sends {@code payload} on the notification {@code channel} in the caller's transaction on {@code c}: PostgreSQL
   * delivers it to every listener when the transaction commits, never when it rolls back ({@code pg_notify}).
   * Derby: nothing (one node: changes are announced in-process, {@link ClusterEvents#LOCAL}).
   */
  public void announce(Connection c, String channel, String payload) throws SQLException {
    if (this == POSTGRESQL) {
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, ?)")) {
        ps.setString(1, channel);
        ps.setString(2, payload);
        ps.execute();
      }
    }
  }

  /** The folder of this engine's own migration files, where one differs from the portable one. */
  String migrationFolder() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
