package org.darwinmail.store;

/** Outbound MTA-STS's tables' contract on Derby. */
class SqlMtaStsRepositoryDerbyTest extends MtaStsRepositoryContract {
  @Override
  Engine engine() {
    return Engine.derby();
  }
}
