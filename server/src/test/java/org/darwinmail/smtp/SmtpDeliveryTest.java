package org.darwinmail.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.nio.file.Files;
import java.util.List;
import java.util.Properties;
import org.darwinmail.store.Account;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What a recipient sees after a message arrives on port 25. */
class SmtpDeliveryTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    server.addUser("alice@deliver.test", "pw-alice");
    server.addUser("bob@deliver.test", "pw-bob");
    server.addUser("carol@deliver.test", "pw-carol");
    server.services().directory().addAlias("team@deliver.test", List.of("alice@deliver.test", "bob@deliver.test"));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static List<MessageRow> inbox(String address) {
    Account a = server.services().directory().account(address).orElseThrow();
    long id = server.services().mail().mailbox(a.id(), "INBOX").orElseThrow().id();
    return server.services().mail().messages(id);
  }

  static String body(MessageRow m) throws Exception {
    return Files.readString(server.services().blobs().path(m.blob()));
  }

  static void expect(LineClient c, String prefix) throws Exception {
    String line;
    do {
      line = c.read();
      assertThat(line).as("waiting for " + prefix).isNotNull();
    } while (line.length() > 3 && line.charAt(3) == '-');
    assertThat(line).startsWith(prefix);
  }

  @Test
  void aliasAndDirectRecipientsEachGetOneCopySharingOneBlob() throws Exception {
    int before = inbox("alice@deliver.test").size();
    int carolBefore = inbox("carol@deliver.test").size();
    try (LineClient c = new LineClient("127.0.0.1", server.port("smtp"))) {
      expect(c, "220");
      c.send("EHLO sender.example");
      expect(c, "250");
      c.send("MAIL FROM:<someone@sender.example>");
      expect(c, "250");
      c.send("RCPT TO:<team@deliver.test>");
      expect(c, "250");
      c.send("RCPT TO:<alice@deliver.test>"); // alice twice: one copy
      expect(c, "250");
      c.send("DATA");
      expect(c, "354");
      c.raw("Subject: team news\r\nFrom: someone@sender.example\r\n\r\n..starts with a dot\r\n.\r\n".getBytes());
      expect(c, "250 2.0.0");
      c.send("QUIT");
      expect(c, "221");
    }
    List<MessageRow> a = inbox("alice@deliver.test");
    List<MessageRow> b = inbox("bob@deliver.test");
    assertThat(a).hasSize(before + 1);
    assertThat(b).isNotEmpty();
    assertThat(a.getLast().blob()).isEqualTo(b.getLast().blob());
    String text = body(a.getLast());
    assertThat(text).startsWith("Return-Path: <someone@sender.example>\r\n"
        + "Received: from sender.example ([127.0.0.1])\r\n\tby mx.test (Darwin Mail) with ESMTP id ");
    assertThat(text).contains("Subject: team news\r\n").endsWith("\r\n\r\n.starts with a dot\r\n");
    assertThat(a.getLast().size()).isEqualTo(text.getBytes().length);
    assertThat(inbox("carol@deliver.test")).hasSize(carolBefore);
  }

  @Test
  void aRealClientSendsUtf8AndEightBitMail() throws Exception {
    Properties p = new Properties();
    p.put("mail.smtp.host", "127.0.0.1");
    p.put("mail.smtp.port", String.valueOf(server.port("smtp")));
    p.put("mail.mime.allowutf8", "true");
    p.put("mail.smtp.localhost", "client.example");
    Session s = Session.getInstance(p);
    MimeMessage m = new MimeMessage(s);
    m.setFrom(new InternetAddress("jörg@sender.example"));
    m.setRecipient(Message.RecipientType.TO, new InternetAddress("carol@deliver.test"));
    m.setSubject("Grüße aus Köln", "UTF-8");
    m.setText("Ünïcödé body ✓", "UTF-8", "plain");
    m.setHeader("Content-Transfer-Encoding", "8bit");
    int before = inbox("carol@deliver.test").size();
    Transport.send(m);
    List<MessageRow> c = inbox("carol@deliver.test");
    assertThat(c).hasSize(before + 1);
    assertThat(body(c.getLast())).contains("Ünïcödé body ✓").contains("with UTF8SMTP id");
  }
}
