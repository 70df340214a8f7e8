package org.darwinmail.store;

/** The mail store's contract on PostgreSQL (a real one, {@link org.darwinmail.testing.PostgresCluster}). */
class SqlMessageRepositoryPostgresTest extends MessageRepositoryContract {
  @Override
  Engine engine() {
    return Engine.postgres();
  }

  @Override
  MessageRepository repository(SqlRunner node) {
    return new SqlMessageRepository(node);
  }
}
