package org.darwinmail.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.store.Account;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Who a local recipient is: postmaster and abuse at every local domain (RFC 5321 §4.5.1, RFC 2142), sub-addresses
 * (RFC 5233), and the Return-Path: header of final delivery (RFC 5321 §4.4). Sessions on port 25, mailboxes read
 * back.
 */
class LocalRecipientsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    server.addUser("admin@one.test", "pw-admin"); // the account created first: the admin mailbox
    server.addUser("alice@one.test", "pw-alice");
    server.addUser("carol@three.test", "pw-carol");
    server.services().directory().addDomain("two.test");
    server.services().directory().addAlias("postmaster@three.test", List.of("carol@three.test"));
    server.addUser("alice+special@one.test", "pw-special");
    long alice = server.services().directory().account("alice@one.test").orElseThrow().id();
    server.services().mail().createMailbox(alice, "Lists", null);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static List<String> folder(String address, String name) throws Exception {
    Account a = server.services().directory().account(address).orElseThrow();
    long id = server.services().mail().mailbox(a.id(), name).orElseThrow().id();
    List<String> out = new ArrayList<>();
    for (MessageRow m : server.services().mail().messages(id)) {
      out.add(Files.readString(server.services().blobs().path(m.blob())));
    }
    return out;
  }

  /** One transaction on port 25; returns the reply to RCPT (when refused) or to the end of data. */
  static String send(String from, String to, String subject) throws Exception {
    try (LineClient c = new LineClient("127.0.0.1", server.port("smtp"))) {
      SmtpDeliveryTest.expect(c, "220");
      c.send("EHLO sender.example");
      SmtpDeliveryTest.expect(c, "250");
      c.send("MAIL FROM:<" + from + ">");
      SmtpDeliveryTest.expect(c, "250");
      c.send("RCPT TO:<" + to + ">");
      String r = c.read();
      if (!r.startsWith("250")) {
        return r;
      }
      c.send("DATA");
      SmtpDeliveryTest.expect(c, "354");
      c.raw(("Subject: " + subject + "\r\nFrom: " + from + "\r\n\r\nhello\r\n.\r\n").getBytes());
      String fin = c.read();
      c.send("QUIT");
      return fin;
    }
  }

  static boolean has(List<String> messages, String subject) {
    return messages.stream().anyMatch(m -> m.contains("Subject: " + subject + "\r\n"));
  }

  @Test
  void postmasterWithoutDomainAndAtEveryLocalDomainReachesTheAdminMailbox() throws Exception {
    assertThat(send("x@sender.example", "postmaster", "pm-bare")).startsWith("250 2.0.0");
    assertThat(send("x@sender.example", "Postmaster@one.test", "pm-one")).startsWith("250 2.0.0");
    assertThat(send("x@sender.example", "POSTMASTER@two.test", "pm-two")).startsWith("250 2.0.0");
    assertThat(send("", "abuse@two.test", "abuse-two")).startsWith("250 2.0.0");
    List<String> inbox = folder("admin@one.test", "INBOX");
    assertThat(has(inbox, "pm-bare") && has(inbox, "pm-one") && has(inbox, "pm-two") && has(inbox, "abuse-two"))
        .isTrue();
  }

  @Test
  void anExplicitAliasForPostmasterWins() throws Exception {
    assertThat(send("x@sender.example", "postmaster@three.test", "pm-three")).startsWith("250 2.0.0");
    assertThat(has(folder("carol@three.test", "INBOX"), "pm-three")).isTrue();
    assertThat(has(folder("admin@one.test", "INBOX"), "pm-three")).isFalse();
  }

  @Test
  void aSubAddressDeliversToTheUserIntoTheFolderItNames() throws Exception {
    assertThat(send("x@sender.example", "alice+lists@one.test", "to-lists")).startsWith("250 2.0.0");
    assertThat(send("x@sender.example", "Alice+Nosuchfolder@one.test", "to-inbox")).startsWith("250 2.0.0");
    assertThat(has(folder("alice@one.test", "Lists"), "to-lists")).isTrue();
    assertThat(has(folder("alice@one.test", "INBOX"), "to-lists")).isFalse();
    assertThat(has(folder("alice@one.test", "INBOX"), "to-inbox")).isTrue();
    assertThat(send("x@sender.example", "nobody+tag@one.test", "nobody")).startsWith("550 5.1.1");
    // a special-use folder is not the sender's to choose: mail from outside does not pose as the user's sent mail
    assertThat(send("x@sender.example", "alice+sent@one.test", "posing as sent")).startsWith("250 2.0.0");
    assertThat(has(folder("alice@one.test", "Sent"), "posing as sent")).isFalse();
    assertThat(has(folder("alice@one.test", "INBOX"), "posing as sent")).isTrue();
  }

  @Test
  void anAccountWhoseNameHoldsAPlusWinsOverTheSubAddress() throws Exception {
    assertThat(send("x@sender.example", "alice+special@one.test", "special")).startsWith("250 2.0.0");
    assertThat(has(folder("alice+special@one.test", "INBOX"), "special")).isTrue();
    assertThat(has(folder("alice@one.test", "INBOX"), "special")).isFalse();
  }

  @Test
  void deliveredMailStartsWithReturnPathSeenThroughImap() throws Exception {
    assertThat(send("Bounce-Me@sender.example", "alice@one.test", "rp-sender")).startsWith("250 2.0.0");
    assertThat(send("", "alice@one.test", "rp-null")).startsWith("250 2.0.0");
    assertThat(send("\"john doe\"@sender.example", "alice@one.test", "rp-quoted")).startsWith("250 2.0.0");
    try (LineClient c = new LineClient("127.0.0.1", server.port("imap"))) {
      assertThat(c.read()).startsWith("* OK");
      c.send("a1 LOGIN alice@one.test pw-alice");
      assertThat(untilTagged(c, "a1")).isNotEmpty();
      c.send("a2 SELECT INBOX");
      untilTagged(c, "a2");
      c.send("a3 FETCH 1:* BODY.PEEK[HEADER.FIELDS (RETURN-PATH SUBJECT)]");
      String all = String.join("\n", untilTagged(c, "a3"));
      assertThat(all).contains("Return-Path: <Bounce-Me@sender.example>\nSubject: rp-sender")
          .contains("Return-Path: <>\nSubject: rp-null")
          .contains("Return-Path: <\"john doe\"@sender.example>\nSubject: rp-quoted");
    }
    // first in the stored message (RFC 5321 §4.4: at the beginning of the mail data), once
    String stored = folder("alice@one.test", "INBOX").stream().filter(m -> m.contains("rp-null")).findFirst()
        .orElseThrow();
    assertThat(stored).startsWith("Return-Path: <>\r\nReceived: from sender.example");
  }

  static List<String> untilTagged(LineClient c, String tag) throws Exception {
    List<String> lines = new ArrayList<>();
    String l;
    do {
      l = c.read();
      assertThat(l).as("reply to " + tag).isNotNull();
      lines.add(l);
    } while (!l.startsWith(tag + " "));
    assertThat(l).startsWith(tag + " OK");
    return lines;
  }
}
