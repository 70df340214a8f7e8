package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import java.time.Duration;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.net.Session;
import org.darwinmail.testing.CapturedLog;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 23: work for a client that has gone must stop. A search that scans a large mailbox many times over is
 * abandoned when its client disconnects, instead of computing to the end for nobody.
 */
class ImapClientGoneTest {
  static TestServer server;
  static CapturedLog log;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser("gone@gone.test", "gone-pw");
    log = new CapturedLog(Session.class, Level.DEBUG);
  }

  @AfterAll
  static void stop() {
    log.close();
  }

  @Test
  void aLongSearchStopsWhenItsClientDisconnects() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login("gone@gone.test", "gone-pw")) {
      String line = "word ".repeat(15) + "\r\n";
      String body = line.repeat(100 * 1024 / line.length());
      for (int i = 0; i < 40; i++) {
        c.append("INBOX", "From: x@gone.test\r\nSubject: big " + i + "\r\n\r\n" + body);
      }
      c.cmd("SELECT INBOX");
      // 490 keys, each true and each a full pass over 4 MB of text: seconds of CPU
      StringBuilder keys = new StringBuilder();
      for (int i = 0; i < 490; i++) {
        keys.append(" NOT TEXT \"").append(String.format("%04d", i)).append("y".repeat(71)).append('"');
      }
      log.clear();
      c.c.send("s1 SEARCH" + keys);
      Thread.sleep(300);
    }
    await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> assertThat(log.messages())
        .anyMatch(m -> m.contains("client gone: the command was abandoned")));
  }
}
