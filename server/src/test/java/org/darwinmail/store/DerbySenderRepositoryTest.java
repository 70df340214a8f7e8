package org.darwinmail.store;

/** The guard's contract on Derby. */
class DerbySenderRepositoryTest extends SenderRepositoryContract {
  @Override
  Engine engine() {
    return Engine.derby();
  }

  @Override
  SenderRepository repository(SqlRunner node) {
    return new SqlSenderRepository(node);
  }
}
