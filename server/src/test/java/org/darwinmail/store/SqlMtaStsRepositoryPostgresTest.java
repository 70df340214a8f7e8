package org.darwinmail.store;

/** Outbound MTA-STS's tables' contract on PostgreSQL (a real one, {@link org.darwinmail.testing.PostgresCluster}). */
class SqlMtaStsRepositoryPostgresTest extends MtaStsRepositoryContract {
  @Override
  Engine engine() {
    return Engine.postgres();
  }
}
