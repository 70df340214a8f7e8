package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IMAP NOTIFY (RFC 5465) across sessions: notifications reach a session between its commands (§5), not only in IDLE,
 * for mail another session appends or SMTP delivers, for expunges, for the selected mailbox (§6.1 selected, §6.2
 * selected-delayed), and NOTIFICATIONOVERFLOW when a session does not take them (§5.8). The grammar and the
 * single-session rules: scripts/imap/notify.txt.
 */
class ImapNotifyTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser("nora@notify.test", "nora-pw");
    server.addUser("olga@notify.test", "olga-pw");
    server.addUser("pia@notify.test", "pia-pw");
    server.addUser("rosa@notify.test", "rosa-pw");
  }

  @Test
  void personalMessageEventsReachAnotherSessionBetweenCommandsAsStatus() throws Exception {
    try (ImapClient a = new ImapClient(server.port("imap")).login("nora@notify.test", "nora-pw");
        ImapClient b = new ImapClient(server.port("imap")).login("nora@notify.test", "nora-pw")) {
      a.cmd("CREATE Lists");
      assertThat(a.cmd("SELECT Sent")).last().asString().contains("OK");
      assertThat(a.cmd("NOTIFY SET (personal (MessageNew MessageExpunge))")).singleElement().asString()
          .endsWith(" OK NOTIFY completed");
      a.c.setTimeout(5_000);

      // APPEND from another session into a mailbox A has not selected: A hears it without sending a command
      b.append("Lists", ImapClient.message("one"));
      assertThat(a.c.read()).matches("\\* STATUS \"Lists\" \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+\\)");

      // mail delivered by SMTP into INBOX
      try (LineClient s = new LineClient("127.0.0.1", server.port("smtp"))) {
        expect(s, "220");
        s.send("EHLO sender.example");
        expect(s, "250 ");
        s.send("MAIL FROM:<x@sender.example>");
        expect(s, "250");
        s.send("RCPT TO:<nora@notify.test>");
        expect(s, "250");
        s.send("DATA");
        expect(s, "354");
        s.raw("Subject: by smtp\r\nFrom: x@sender.example\r\n\r\nhello\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
        expect(s, "250");
        s.send("QUIT");
      }
      assertThat(a.c.read()).matches("\\* STATUS \"INBOX\" \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+\\)");

      // an expunge elsewhere (MessageExpunge)
      b.cmd("SELECT Lists");
      b.cmd("STORE 1 +FLAGS (\\Deleted)");
      b.cmd("EXPUNGE");
      assertThat(a.c.read()).matches("\\* STATUS \"Lists\" \\(MESSAGES 0 UIDNEXT 2 UIDVALIDITY \\d+\\)");

      // the selected mailbox gets no STATUS; NOTIFY NONE ends it all
      b.append("Sent", ImapClient.message("sent"));
      List<String> noop = a.cmd("NOOP");
      assertThat(noop).contains("* 1 EXISTS").noneMatch(l -> l.startsWith("* STATUS"));
      a.cmd("NOTIFY NONE");
      b.append("Lists", ImapClient.message("two"));
      assertThat(a.cmd("NOOP")).singleElement().asString().endsWith(" OK NOOP completed");
    }
  }

  @Test
  void selectedMailboxChangesArePushedAndSelectedDelayedHoldsExpunges() throws Exception {
    try (ImapClient a = new ImapClient(server.port("imap")).login("olga@notify.test", "olga-pw");
        ImapClient b = new ImapClient(server.port("imap")).login("olga@notify.test", "olga-pw")) {
      a.cmd("ENABLE IMAP4rev2"); // no \Recent: the lines below do not depend on who takes it
      b.append("INBOX", ImapClient.message("first"));
      a.cmd("SELECT INBOX");
      a.cmd("NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange))");
      a.c.setTimeout(5_000);
      b.append("INBOX", ImapClient.message("second"));
      assertThat(a.c.read()).isEqualTo("* 2 EXISTS");
      assertThat(a.c.read()).isEqualTo("* 2 FETCH (UID 2 FLAGS ())");
      b.cmd("SELECT INBOX");
      b.cmd("STORE 1 +FLAGS (\\Flagged)");
      assertThat(a.c.read()).isEqualTo("* 1 FETCH (UID 1 FLAGS (\\Flagged))");
      b.cmd("STORE 1 +FLAGS (\\Deleted)");
      assertThat(a.c.read()).isEqualTo("* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted))");
      b.cmd("EXPUNGE");
      assertThat(a.c.read()).isEqualTo("* 1 EXPUNGE"); // selected: at once (§6.1)

      // selected-delayed: the EXPUNGE waits for a command that may carry it (§6.2); new mail does not
      a.cmd("NOTIFY SET (selected-delayed (MessageNew MessageExpunge))");
      b.cmd("STORE 1 +FLAGS (\\Deleted)");
      b.cmd("EXPUNGE");
      b.append("INBOX", ImapClient.message("third"));
      List<String> pushed = a.until("* 2 EXISTS");
      assertThat(pushed).noneMatch(l -> l.contains("EXPUNGE"));
      List<String> noop = a.cmd("NOOP");
      assertThat(noop).hasSize(2).first().isEqualTo("* 1 EXPUNGE");
    }
  }

  @Test
  void aSessionThatDoesNotTakeItsNotificationsGetsNotificationOverflowAndNotifyNone() throws Exception {
    try (ImapClient a = new ImapClient(server.port("imap")).login("pia@notify.test", "pia-pw");
        ImapClient b = new ImapClient(server.port("imap")).login("pia@notify.test", "pia-pw")) {
      a.cmd("CREATE Busy");
      a.cmd("NOTIFY SET (personal (MessageNew MessageExpunge))");
      // A is in the middle of a command (APPEND waits for its literal): nothing can be sent to it meanwhile
      a.c.send("p1 APPEND Drafts {6}");
      assertThat(a.c.read()).startsWith("+ ");
      int events = 0;
      while (events <= Notifications.MAX_QUEUED) {
        StringBuilder cmd = new StringBuilder("m APPEND Busy");
        for (int i = 0; i < 90; i++) { // at most 200 parts (text and literals) in one command
          cmd.append(" {5+}\r\nhello");
          events++;
        }
        b.c.raw((cmd + "\r\n").getBytes(StandardCharsets.US_ASCII));
        assertThat(b.until("m ")).last().asString().startsWith("m OK");
      }
      a.c.setTimeout(5_000);
      a.c.raw("draft!\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(a.c.read()).startsWith("p1 OK");
      assertThat(a.c.read()).startsWith("* OK [NOTIFICATIONOVERFLOW]");
      // as after NOTIFY NONE (§5.8): nothing more
      b.append("Busy", ImapClient.message("later"));
      assertThat(a.cmd("NOOP")).singleElement().asString().endsWith(" OK NOOP completed");
    }
  }

  @Test
  void moreMailboxesThanASessionMayWatchIsRefusedWithNotificationOverflow() throws Exception {
    var mail = server.services().mail();
    long account = server.services().directory().account("rosa@notify.test").orElseThrow().id();
    for (int i = 0; i < Notifications.MAX_WATCHED; i++) {
      mail.createMailbox(account, "Many/" + i, null);
    }
    try (ImapClient a = new ImapClient(server.port("imap")).login("rosa@notify.test", "rosa-pw")) {
      // §3.1: "prohibitively expensive" may be refused NO [NOTIFICATIONOVERFLOW]; the previous registration stays
      assertThat(a.cmd("NOTIFY SET (inboxes (MessageNew MessageExpunge))")).last().asString()
          .endsWith(" OK NOTIFY completed");
      assertThat(a.cmd("NOTIFY SET STATUS (personal (MessageNew MessageExpunge))")).singleElement().asString()
          .endsWith(" NO [NOTIFICATIONOVERFLOW] More than " + Notifications.MAX_WATCHED + " mailboxes to watch");
      assertThat(a.cmd("NOTIFY SET STATUS (mailboxes (Many/1 Many/10) (MessageNew MessageExpunge))")).hasSize(3);
      ImapClient b = new ImapClient(server.port("imap")).login("rosa@notify.test", "rosa-pw");
      b.append("Many/10", ImapClient.message("ten"));
      b.close();
      a.c.setTimeout(5_000);
      assertThat(a.c.read()).matches("\\* STATUS \"Many/10\" \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+\\)");
    }
  }

  private static void expect(LineClient c, String prefix) throws java.io.IOException {
    String l;
    do {
      l = c.read();
      assertThat(l).isNotNull();
    } while (l.startsWith(prefix.substring(0, 3) + "-"));
    assertThat(l).startsWith(prefix);
  }
}
