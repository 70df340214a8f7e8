package org.darwinmail.store;

/** The directory's contract on PostgreSQL (a real one, {@link org.darwinmail.testing.PostgresCluster}). */
class SqlDirectoryRepositoryPostgresTest extends DirectoryRepositoryContract {
  @Override
  Engine engine() {
    return Engine.postgres();
  }

  @Override
  DirectoryRepository repository(SqlRunner node) {
    return new SqlDirectoryRepository(node);
  }
}
