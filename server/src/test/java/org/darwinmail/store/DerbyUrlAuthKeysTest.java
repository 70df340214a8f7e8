package org.darwinmail.store;

/** The URLAUTH keys' contract on Derby. */
class DerbyUrlAuthKeysTest extends UrlAuthKeysContract {
  @Override
  Engine engine() {
    return Engine.derby();
  }
}
