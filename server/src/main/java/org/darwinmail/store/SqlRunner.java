package org.darwinmail.store;

/**
 * Runs SQL on a pooled connection of one engine: {@link Database} (embedded Derby) or {@link PostgresDatabase}. The
 * repositories and {@link GroupCommit} take one; each engine retries what its own error codes call transient
 * (a deadlock victim, a serialization failure).
 */
public interface SqlRunner {
  /** Runs {@code work} in one transaction (committed when it returns, rolled back when it throws). */
  <T> T tx(Database.SqlWork<T> work);

  /** Runs {@code work} on an auto-commit connection (single statements, reads). */
  <T> T read(Database.SqlWork<T> work);

  /** Where this engine's SQL differs from the portable SQL the repositories write. */
  SqlDialect dialect();
}
