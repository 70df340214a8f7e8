package org.darwinmail.store;

/** The queue's contract on Derby. */
class DerbyQueueRepositoryTest extends QueueRepositoryContract {
  @Override
  Engine engine() {
    return Engine.derby();
  }

  @Override
  QueueRepository repository(SqlRunner node) {
    return new SqlQueueRepository(node);
  }
}
