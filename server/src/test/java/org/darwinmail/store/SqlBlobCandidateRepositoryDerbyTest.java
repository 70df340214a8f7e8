package org.darwinmail.store;

/** The blob candidates' contract on Derby. */
class SqlBlobCandidateRepositoryDerbyTest extends BlobCandidateRepositoryContract {
  @Override
  Engine engine() {
    return Engine.derby();
  }

  @Override
  BlobCandidateRepository repository(SqlRunner node) {
    return new SqlBlobCandidateRepository(node);
  }
}
