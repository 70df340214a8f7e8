package org.darwinmail.imap;

import java.util.stream.Stream;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.testing.ScriptSuite;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The transcripts in scripts/imap/strict, against a server where loopback gets no exception
 * ({@code imap.plaintext_on_loopback = false}): what any client not on loopback sees. No password in the clear.
 */
class ImapTlsRequiredScriptsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    var parsed = ConfigLoader.parse("""
        [imap]
        plaintext_on_loopback = false
        """);
    server = TestServer.start(c -> c.withImap(parsed.imap()));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @TestFactory
  Stream<DynamicTest> scripts() {
    return ScriptSuite.tests(server, "imap/strict", "imap", false);
  }
}
