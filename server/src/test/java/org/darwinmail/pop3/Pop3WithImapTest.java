package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A user with a phone on IMAP and an old desktop client on POP3: the POP3 maildrop lock does not stop IMAP, the
 * IMAP session sees the messages POP3 deleted as expunges, and UIDL ids carry the IMAP UIDVALIDITY and UIDs.
 */
class Pop3WithImapTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser("alice@both.test", "alice-pw");
    for (int k = 1; k <= 3; k++) {
      Pop3Mail.deliver(server, "alice@both.test", Pop3Mail.message(k).getBytes(StandardCharsets.US_ASCII));
    }
  }

  @Test
  void imapGoesOnWhilePop3HoldsTheMaildropAndSeesItsDeletions() throws Exception {
    try (LineClient imap = new LineClient("127.0.0.1", server.port("imap"));
        RawPop3 pop = new RawPop3(server.port("pop3"))) {
      assertThat(imap.read()).startsWith("* OK");
      pop.login("alice@both.test", "alice-pw");
      assertThat(pop.command("UIDL")).startsWith("+OK");
      List<String> uidl = pop.lines();

      // IMAP logs in and works on the mailbox POP3 has locked.
      List<String> r = imapCommand(imap, "a1 LOGIN alice@both.test alice-pw");
      assertThat(r.getLast()).startsWith("a1 OK");
      r = imapCommand(imap, "a2 SELECT INBOX");
      assertThat(r).contains("* 3 EXISTS");
      String validity = r.stream().filter(l -> l.startsWith("* OK [UIDVALIDITY ")).findFirst().orElseThrow()
          .replaceAll("^\\* OK \\[UIDVALIDITY ([0-9]+)\\].*$", "$1");
      r = imapCommand(imap, "a3 UID FETCH 1:* (UID)");
      List<String> uids = new ArrayList<>();
      for (String l : r) {
        if (l.startsWith("* ")) {
          uids.add(l.replaceAll("^\\* ([0-9]+) FETCH \\(UID ([0-9]+)\\)$", "$1 " + validity + ".$2"));
        }
      }
      assertThat(uidl).as("UIDL = UIDVALIDITY.UID of the same messages").isEqualTo(uids);

      r = imapCommand(imap, "a4 STORE 3 +FLAGS (\\Seen)");
      assertThat(r.getLast()).startsWith("a4 OK");

      assertThat(pop.command("DELE 1")).startsWith("+OK");
      assertThat(pop.command("DELE 2")).startsWith("+OK");
      r = imapCommand(imap, "a5 NOOP");
      assertThat(r).as("nothing is removed before POP3's QUIT").noneMatch(l -> l.endsWith("EXPUNGE"));
      assertThat(pop.command("QUIT")).isEqualTo("+OK Bye, 2 deleted, 1 messages left");

      r = imapCommand(imap, "a6 NOOP");
      assertThat(r.stream().filter(l -> l.matches("\\* [12] EXPUNGE"))).as("two messages expunged").hasSize(2);
      r = imapCommand(imap, "a7 UID FETCH 1:* (UID FLAGS)");
      // \\Recent: this session was the first to select INBOX after the delivery (RFC 3501 §2.3.2)
      assertThat(r.getFirst()).matches("\\* 1 FETCH \\(UID 3 FLAGS \\(\\\\Seen \\\\Recent\\)\\)"
          + "|\\* 1 FETCH \\(FLAGS \\(\\\\Seen \\\\Recent\\) UID 3\\)");
      imapCommand(imap, "a8 LOGOUT");
    }
  }

  /** Sends a tagged command and returns every line up to and including the tagged answer. */
  private static List<String> imapCommand(LineClient c, String line) throws Exception {
    String tag = line.substring(0, line.indexOf(' '));
    c.send(line);
    List<String> out = new ArrayList<>();
    while (true) {
      String l = c.read();
      assertThat(l).as("answer to " + line).isNotNull();
      out.add(l);
      if (l.startsWith(tag + " ")) {
        return out;
      }
    }
  }
}
