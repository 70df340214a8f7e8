package org.darwinmail.store;

/** The delivery trace's contract on Derby. */
class DerbyTraceRepositoryTest extends TraceRepositoryContract {
  @Override
  Engine engine() {
    return Engine.derby();
  }
}
