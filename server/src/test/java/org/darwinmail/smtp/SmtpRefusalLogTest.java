package org.darwinmail.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import java.util.List;
import org.darwinmail.testing.CapturedLog;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every refusal leaves one log line with the session id and the client address (what an administrator greps for
 * when a sender says "your server refused me"), and no credential ever reaches the log.
 */
class SmtpRefusalLogTest {
  static TestServer server;
  static CapturedLog log;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    server.addUser("alice@refuse.test", "pw-alice");
    log = new CapturedLog(SmtpSession.class, Level.INFO);
  }

  @AfterAll
  static void stop() {
    log.close();
    server.close();
  }

  @BeforeEach
  void clear() {
    log.clear();
  }

  static List<String> refusals() {
    return log.messages().stream().filter(m -> m.contains("refused")).toList();
  }

  static LineClient session() throws Exception {
    LineClient c = new LineClient("127.0.0.1", server.port("smtp"));
    SmtpDeliveryTest.expect(c, "220");
    say(c, "EHLO client.example", "250");
    return c;
  }

  static void say(LineClient c, String line, String reply) throws Exception {
    c.send(line);
    SmtpDeliveryTest.expect(c, reply);
  }

  @Test
  void relayDeniedAndUnknownUserAreLoggedWithSessionAndClientAddress() throws Exception {
    try (LineClient c = session()) {
      say(c, "MAIL FROM:<s@sender.example>", "250");
      say(c, "RCPT TO:<victim@elsewhere.example>", "550 5.7.1");
      say(c, "RCPT TO:<nobody@refuse.test>", "550 5.1.1");
      say(c, "QUIT", "221");
    }
    assertThat(refusals()).hasSize(2);
    assertThat(refusals().get(0))
        .matches("\\[[^\\]]+\\] 127\\.0\\.0\\.1 RCPT TO:<victim@elsewhere\\.example>: refused 550 5\\.7\\.1 Relaying denied");
    assertThat(refusals().get(1)).matches("\\[[^\\]]+\\] 127\\.0\\.0\\.1 RCPT TO:<nobody@refuse\\.test>: refused 550 5\\.1\\.1 .*");
  }

  @Test
  void bareLineFeedAndLimitsAreLogged() throws Exception {
    try (LineClient c = session()) {
      say(c, "MAIL FROM:<s@sender.example>", "250");
      say(c, "RCPT TO:<alice@refuse.test>", "250");
      say(c, "DATA", "354");
      c.raw("Subject: x\n\nsmuggled\n.\r\n.\r\n".getBytes()); // only CRLF.CRLF ends the data
      SmtpDeliveryTest.expect(c, "550 5.6.2");
      say(c, "NOOP " + "x".repeat(3000), "500 5.5.6");
    }
    assertThat(refusals()).hasSize(2);
    assertThat(refusals().get(0)).matches("\\[[^\\]]+\\] 127\\.0\\.0\\.1 DATA: refused 550 5\\.6\\.2 .*bare CR or LF.*");
    assertThat(refusals().get(1)).matches("\\[[^\\]]+\\] 127\\.0\\.0\\.1 \\(a line too long\\): refused 500 5\\.5\\.6 .*");
  }

  @Test
  void badCommandsThatEndTheSessionAreLoggedWithoutWhatTheClientTyped() throws Exception {
    try (LineClient c = session()) {
      c.send("AUTH PLAIN AGFsaWNlQHJlZnVzZS50ZXN0AHB3LWFsaWNl"); // not offered on port 25
      SmtpDeliveryTest.expect(c, "503");
      for (int i = 0; i < 9; i++) {
        c.send("AGFsaWNlQHJlZnVzZS50ZXN0AHB3LWFsaWNl"); // credentials a confused client sent anyway
        SmtpDeliveryTest.expect(c, "500");
      }
      SmtpDeliveryTest.expect(c, "421 4.7.0");
    }
    List<String> r = refusals();
    assertThat(r).hasSize(11);
    assertThat(r.getFirst()).matches("\\[[^\\]]+\\] 127\\.0\\.0\\.1 AUTH PLAIN: refused 503 .*");
    assertThat(r.get(1)).matches("\\[[^\\]]+\\] 127\\.0\\.0\\.1 unrecognised command: refused 500 5\\.5\\.2 .*");
    assertThat(r.getLast()).matches("\\[[^\\]]+\\] 127\\.0\\.0\\.1 unrecognised command: refused 421 4\\.7\\.0 Too many errors.*");
    assertThat(log.messages()).noneMatch(m -> m.contains("AGFsaWNl"));
  }
}
