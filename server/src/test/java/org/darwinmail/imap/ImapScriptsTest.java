package org.darwinmail.imap;

import java.nio.file.Files;
import java.util.stream.Stream;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.ScriptSuite;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every transcript in scripts/imap, against a real server over a real socket. A line "#! quota USER BYTES" in a
 * script sets the administrator's quota of USER@$D before it runs (what the console and `user quota` do).
 */
class ImapScriptsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
  }


  @TestFactory
  Stream<DynamicTest> scripts() {
    return ScriptSuite.tests(server, "imap", "imap", false, (domain, script) -> {
      for (String line : Files.readAllLines(script)) {
        if (line.startsWith("#! quota ")) {
          String[] w = line.substring(9).strip().split(" ");
          server.services().directory().setQuota(w[0] + "@" + domain, Long.parseLong(w[1]));
        }
      }
    });
  }
}
