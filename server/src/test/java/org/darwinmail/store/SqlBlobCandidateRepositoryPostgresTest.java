package org.darwinmail.store;

/** The blob candidates' contract on PostgreSQL (a real one, {@link org.darwinmail.testing.PostgresCluster}). */
class SqlBlobCandidateRepositoryPostgresTest extends BlobCandidateRepositoryContract {
  @Override
  Engine engine() {
    return Engine.postgres();
  }

  @Override
  BlobCandidateRepository repository(SqlRunner node) {
    return new SqlBlobCandidateRepository(node);
  }
}
