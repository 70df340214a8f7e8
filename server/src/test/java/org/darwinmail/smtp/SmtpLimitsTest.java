package org.darwinmail.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.darwinmail.smtp.SmtpDeliveryTest.expect;

import org.darwinmail.config.SmtpConfig;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every bound of an SMTP session, each with a scenario that crosses it (small limits keep it fast). */
class SmtpLimitsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    // max size 2048, 3 recipients, 512-byte lines, idle 2 s, 5 errors, 5 Received headers
    server = TestServer.start(c -> c.withSmtp(new SmtpConfig(2048L, 3, 512, 2, 3600, 5, 5)));
    server.addUser("u@limits.test", "pw-u");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private LineClient open() throws Exception {
    LineClient c = new LineClient("127.0.0.1", server.port("smtp"));
    expect(c, "220");
    c.send("EHLO client.example");
    expect(c, "250");
    return c;
  }

  private int stored() {
    var a = server.services().directory().account("u@limits.test").orElseThrow();
    return server.services().mail().messages(server.services().mail().mailbox(a.id(), "INBOX").orElseThrow().id())
        .size();
  }

  @Test
  void tooManyRecipientsGet452() throws Exception {
    try (LineClient c = open()) {
      c.send("MAIL FROM:<a@x.example>");
      expect(c, "250");
      for (int i = 0; i < 3; i++) {
        c.send("RCPT TO:<u@limits.test>");
        expect(c, "250");
      }
      c.send("RCPT TO:<u@limits.test>");
      expect(c, "452 4.5.3");
    }
  }

  @Test
  void anOversizedMessageIsRefusedAndNothingIsStored() throws Exception {
    int before = stored();
    try (LineClient c = open()) {
      c.send("MAIL FROM:<a@x.example>");
      expect(c, "250");
      c.send("RCPT TO:<u@limits.test>");
      expect(c, "250");
      c.send("DATA");
      expect(c, "354");
      c.raw(("Subject: big\r\n\r\n" + "0123456789abcdef\r\n".repeat(200) + ".\r\n").getBytes());
      expect(c, "552 5.3.4");
      c.send("NOOP");
      expect(c, "250");
    }
    assertThat(stored()).isEqualTo(before);
  }

  @Test
  void anOverlongLineGets500AndTheSessionGoesOn() throws Exception {
    try (LineClient c = open()) {
      c.send("NOOP " + "x".repeat(2000));
      expect(c, "500 5.5.6");
      c.send("NOOP");
      expect(c, "250");
    }
  }

  @Test
  void tooManyErrorsCloseTheSession() throws Exception {
    try (LineClient c = open()) {
      for (int i = 0; i < 4; i++) {
        c.send("BOGUS");
        expect(c, "500");
      }
      c.send("BOGUS");
      expect(c, "500");
      expect(c, "421 4.7.0");
      assertThat(c.closedByServer()).isTrue();
    }
  }

  @Test
  void anIdleClientIsDroppedWith421() throws Exception {
    try (LineClient c = open()) {
      c.setTimeout(15_000);
      expect(c, "421 4.4.2");
      assertThat(c.closedByServer()).isTrue();
    }
  }

  @Test
  void aMailLoopIsRefused() throws Exception {
    int before = stored();
    try (LineClient c = open()) {
      c.send("MAIL FROM:<a@x.example>");
      expect(c, "250");
      c.send("RCPT TO:<u@limits.test>");
      expect(c, "250");
      c.send("DATA");
      expect(c, "354");
      c.raw(("Received: from a by b; now\r\n".repeat(6) + "Subject: loop\r\n\r\nbody\r\n.\r\n").getBytes());
      expect(c, "554 5.4.6");
    }
    assertThat(stored()).isEqualTo(before);
  }
}
