package org.darwinmail.pop3;

import java.util.stream.Stream;
import org.darwinmail.config.Pop3Config;
import org.darwinmail.testing.ScriptSuite;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The transcripts in scripts/pop3/strict, against a server where loopback gets no exception
 * ({@code pop3.plaintext_on_loopback = false}): what any client not on loopback sees. No password in the clear.
 */
class Pop3TlsRequiredScriptsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> c.withPop3(new Pop3Config(null, null, null, false)));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @TestFactory
  Stream<DynamicTest> scripts() {
    return ScriptSuite.tests(server, "pop3/strict", "pop3", false, (domain, f) -> Pop3Mail.prepare(server, domain, f));
  }
}
