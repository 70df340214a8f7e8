package org.darwinmail.store;

/** The shared keys' contract on Derby. */
class DerbySharedKeysTest extends SharedKeysContract {
  @Override
  Engine engine() {
    return Engine.derby();
  }
}
