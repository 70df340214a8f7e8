package org.darwinmail.pop3;

import java.util.stream.Stream;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.ScriptSuite;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every transcript in scripts/pop3, against a real server over a real socket (loopback: plaintext login allowed). */
class Pop3ScriptsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
  }

  @TestFactory
  Stream<DynamicTest> scripts() {
    return ScriptSuite.tests(server, "pop3", "pop3", false, (domain, f) -> Pop3Mail.prepare(server, domain, f));
  }
}
