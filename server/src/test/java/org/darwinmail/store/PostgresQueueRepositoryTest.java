package org.darwinmail.store;

/** The queue's contract on PostgreSQL (a real one, {@link org.darwinmail.testing.PostgresCluster}). */
class PostgresQueueRepositoryTest extends QueueRepositoryContract {
  @Override
  Engine engine() {
    return Engine.postgres();
  }

  @Override
  QueueRepository repository(SqlRunner node) {
    return new SqlQueueRepository(node);
  }
}
