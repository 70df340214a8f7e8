package org.darwinmail.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.darwinmail.smtp.SmtpDeliveryTest.expect;

import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * CVE-2011-0411 style command injection: plaintext commands pipelined after STARTTLS must be discarded, not run
 * inside the TLS session (RFC 3207 §4.2, STYLE.md §6).
 */
class StartTlsInjectionTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    server.addUser("v@inject.test", "pw-v");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void commandsPipelinedAfterStartTlsAreDiscarded() throws Exception {
    try (LineClient c = new LineClient("127.0.0.1", server.port("smtp"))) {
      expect(c, "220");
      c.send("EHLO client.example");
      expect(c, "250");
      c.raw("STARTTLS\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<v@inject.test>\r\n".getBytes());
      expect(c, "220 2.0.0");
      c.upgrade();
      // Had the injected commands run, their replies (or a "503 sender already given") would come first.
      c.send("EHLO client.example");
      expect(c, "250");
      c.send("MAIL FROM:<good@x.example>");
      expect(c, "250 2.1.0");
      c.send("RCPT TO:<v@inject.test>");
      expect(c, "250 2.1.5");
      c.send("QUIT");
      expect(c, "221");
    }
  }
}
