package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 23: user text that reached a backtracking regex or a naive search held a core for minutes ("*%*%...*%a"
 * in LIST took 8 s at 50 wildcards and never ended at 200; two such commands stopped SMTP, IMAP and POP3). Each
 * command here must be answered well inside the bound, and the server must go on serving others.
 */
class ImapRedosTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser("redos@redos.test", "redos-pw");
  }

  @Test
  void listWithTenKilobytesOfWildcardsIsAnsweredAtOnce() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login("redos@redos.test", "redos-pw")) {
      c.cmd("CREATE " + "a/".repeat(40) + "b");
      assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
        for (String p : List.of("*%".repeat(200) + "a", "*%".repeat(5_000) + "a", "%*".repeat(5_000),
            "a%".repeat(5_000))) {
          List<String> r = c.cmd("LIST \"\" \"" + p + "\"");
          assertThat(r.get(r.size() - 1)).contains("OK");
          r = c.cmd("LSUB \"\" \"" + p + "\"");
          assertThat(r.get(r.size() - 1)).contains("OK");
        }
      });
      List<String> all = c.cmd("LIST \"\" \"*%*%*%*%*b\"");
      assertThat(all).anyMatch(l -> l.startsWith("* LIST") && l.endsWith("a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/"
          + "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/b\""));
    }
    try (ImapClient other = new ImapClient(server.port("imap"))) {
      assertThat(other.cmd("CAPABILITY").get(1)).contains("OK");
    }
  }

  @Test
  void searchForALongAlmostMatchingStringIsAnsweredAtOnce() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login("redos@redos.test", "redos-pw")) {
      c.cmd("CREATE Big");
      String body = "a".repeat(76) + "\r\n";
      c.append("Big", "From: x@redos.test\r\nSubject: " + "re:".repeat(5_000) + "big\r\n\r\n" + body.repeat(12_000));
      c.cmd("SELECT Big");
      String needle = "a".repeat(20_000) + "b";
      assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
        List<String> r = c.cmd("SEARCH BODY " + needle);
        assertThat(r).contains("* SEARCH");
        r = c.cmd("SEARCH TEXT " + needle);
        assertThat(r).contains("* SEARCH");
        r = c.cmd("SORT (SUBJECT) UTF-8 ALL");
        assertThat(r).contains("* SORT 1");
      });
    }
  }
}
