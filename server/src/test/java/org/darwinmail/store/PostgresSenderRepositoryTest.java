package org.darwinmail.store;

/** The guard's contract on PostgreSQL (a real one, {@link org.darwinmail.testing.PostgresCluster}). */
class PostgresSenderRepositoryTest extends SenderRepositoryContract {
  @Override
  Engine engine() {
    return Engine.postgres();
  }

  @Override
  SenderRepository repository(SqlRunner node) {
    return new SqlSenderRepository(node);
  }
}
