package org.darwinmail.pop3;

import org.darwinmail.testing.TestServer;

/**
 * One server for the POP3 test classes that need no special configuration and no restart: each uses its own
 * domain, so they do not see each other's mail. Starting a server (Derby, TLS key) is the slow part of these tests.
 * It stops when the test JVM exits.
 */
final class SharedPop3Server {
  private static TestServer server;

  private SharedPop3Server() {}

  static synchronized TestServer get() {
    if (server == null) {
      TestServer s = TestServer.start();
      Runtime.getRuntime().addShutdownHook(new Thread(s::close));
      server = s;
    }
    return server;
  }
}
