package org.darwinmail.store;

/** The directory's contract on Derby. */
class SqlDirectoryRepositoryDerbyTest extends DirectoryRepositoryContract {
  @Override
  Engine engine() {
    return Engine.derby();
  }

  @Override
  DirectoryRepository repository(SqlRunner node) {
    return new SqlDirectoryRepository(node);
  }
}
