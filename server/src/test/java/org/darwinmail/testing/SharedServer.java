package org.darwinmail.testing;

/**
 * One server for the test classes that need no special configuration and no restart (the IMAP and POP3 ones):
 * starting Derby and the listeners is the slow part of these tests. Each test uses its own domain or users, so
 * they do not see each other's mail. It stops when the test JVM exits.
 */
public final class SharedServer {
  private static TestServer server;

  private SharedServer() {}

  public static synchronized TestServer get() {
    if (server == null) {
      TestServer s = TestServer.start();
      Runtime.getRuntime().addShutdownHook(new Thread(s::close));
      server = s;
    }
    return server;
  }
}
