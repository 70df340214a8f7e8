package org.darwinmail.imap;

import org.darwinmail.testing.TestServer;

/**
 * One server for all IMAP test classes (starting Derby and the listeners is the slow part of these tests); stopped
 * when the test JVM exits. Tests use their own users and mailboxes, so they do not see each other's mail.
 */
final class SharedServer {
  private static TestServer server;

  private SharedServer() {}

  static synchronized TestServer get() {
    if (server == null) {
      server = TestServer.start();
      TestServer s = server;
      Runtime.getRuntime().addShutdownHook(new Thread(s::close));
    }
    return server;
  }
}
