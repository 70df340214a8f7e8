package org.darwinmail.store;

/** The shared keys' contract on PostgreSQL (a real one, {@link org.darwinmail.testing.PostgresCluster}). */
class PostgresSharedKeysTest extends SharedKeysContract {
  @Override
  Engine engine() {
    return Engine.postgres();
  }
}
