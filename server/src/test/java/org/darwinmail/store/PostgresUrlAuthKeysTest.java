package org.darwinmail.store;

/** The URLAUTH keys' contract on PostgreSQL (a real one, {@link org.darwinmail.testing.PostgresCluster}). */
class PostgresUrlAuthKeysTest extends UrlAuthKeysContract {
  @Override
  Engine engine() {
    return Engine.postgres();
  }
}
