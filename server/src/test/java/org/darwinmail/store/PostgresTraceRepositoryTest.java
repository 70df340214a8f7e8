package org.darwinmail.store;

/** The delivery trace's contract on PostgreSQL (a real one, {@link org.darwinmail.testing.PostgresCluster}). */
class PostgresTraceRepositoryTest extends TraceRepositoryContract {
  @Override
  Engine engine() {
    return Engine.postgres();
  }
}
