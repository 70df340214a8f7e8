package org.darwinmail.store;

import java.sql.SQLException;

/**
 * Runs SQL on a pooled connection of one engine: {@link Database} (embedded Derby) or {@link PostgresDatabase}. The
 * repositories and {@link GroupCommit} take one; each engine retries what its own error codes call transient
 * (a deadlock victim, a serialization failure).
 */
public interface SqlRunner extends AutoCloseable {
  /**
   * Runs {@code work} in one transaction (committed when it returns, rolled back when it throws), retried like
   * {@link #read}: the one transaction wrapper of both engines.
   */
  default <T> T tx(Database.SqlWork<T> work) {
    return read(c -> {
      c.setAutoCommit(false);
      try {
        T result = work.run(c);
        c.commit();
        c.setAutoCommit(true);
        return result;
      } catch (SQLException | RuntimeException e) {
        try {
          c.rollback();
          c.setAutoCommit(true);
        } catch (SQLException r) {
          e.addSuppressed(r); // the first error says what happened (a connection that died says only "closed")
        }
        throw e;
      }
    });
  }

  /**
   * Runs {@code work} on an auto-commit connection (single statements, reads), retrying it whole when the engine
   * calls its error transient.
   */
  <T> T read(Database.SqlWork<T> work);

  /**
   * This node's name on the cluster event channel ({@link ClusterEvents}): the events it sends carry it, so that its
   * own listener passes them over. Unique per open database (a node); "" on Derby, which sends none.
   */
  default String node() {
    return "";
  }

  /**
   * Whether changes can be made now: false while Derby serves a database it booted read-only (a full disk), where a
   * change would make it shut the database down and reopen it, and reads fail meanwhile.
   */
  default boolean writable() {
    return true;
  }

  /** Where this engine's SQL differs from the portable SQL the repositories write. */
  SqlDialect dialect();

  /**
   * Whether other server processes may change these tables while this one runs (PostgreSQL shared by several
   * nodes): then a cache of what is stored must not outlive {@link #STALE_AFTER}.
   */
  default boolean shared() {
    return dialect() == SqlDialect.POSTGRESQL;
  }

  /**
   * How long an in-process cache of stored data (addresses, domains, mailbox ids) is trusted on a {@link #shared}
   * database, where another node's change does not empty it (ARCHITECTURE.md, "Several nodes").
   */
  java.time.Duration STALE_AFTER = java.time.Duration.ofSeconds(1);

  /** Closes the pool (and, for Derby, shuts the engine's database down). */
  @Override
  void close();
}
