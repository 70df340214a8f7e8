package org.darwinmail.store;

/** The mail store's contract on Derby. */
class SqlMessageRepositoryDerbyTest extends MessageRepositoryContract {
  @Override
  Engine engine() {
    return Engine.derby();
  }

  @Override
  MessageRepository repository(SqlRunner node) {
    return new SqlMessageRepository(node);
  }
}
