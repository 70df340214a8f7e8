package org.darwinmail.imap;

import java.util.stream.Stream;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.ScriptSuite;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every transcript in scripts/imap, against a real server over a real socket. */
class ImapScriptsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
  }


  @TestFactory
  Stream<DynamicTest> scripts() {
    return ScriptSuite.tests(server, "imap", "imap", false);
  }
}
