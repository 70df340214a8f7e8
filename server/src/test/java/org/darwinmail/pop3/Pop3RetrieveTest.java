package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a user relies on: the message someone sent over SMTP comes out of POP3 exactly as sent (the server only adds
 * its Received: header on top), whatever lines it has; and a 20 MB message streams out whole and intact.
 */
class Pop3RetrieveTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser("alice@retrieve.test", "alice-pw");
    server.addUser("carol@retrieve.test", "carol-pw");
  }

  @Test
  void aMessageDeliveredOverSmtpIsRetrievedByteIdenticalApartFromTraceHeaders() throws Exception {
    String longLine = "L".repeat(990);
    String original = "From: Zoë <zoe@remote.example>\r\n"
        + "To: alice@retrieve.test\r\n"
        + "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
        + "MIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n"
        + "Content-Transfer-Encoding: 8bit\r\n"
        + "\r\n"
        + "Grüße aus Zürich — 8-bit body\r\n"
        + ".\r\n"
        + "..\r\n"
        + ".leading dot\r\n"
        + " .space then dot\r\n"
        + "\r\n"
        + "\r\n"
        + longLine + "\r\n"
        + "\tTabbed line\r\n"
        + "last line\r\n";
    try (LineClient smtp = new LineClient("127.0.0.1", server.port("smtp"))) {
      expect(smtp, "220");
      smtp.send("EHLO client.example");
      while (!smtp.read().startsWith("250 ")) {
        // EHLO keywords
      }
      smtp.send("MAIL FROM:<zoe@remote.example> BODY=8BITMIME");
      expect(smtp, "250");
      smtp.send("RCPT TO:<alice@retrieve.test>");
      expect(smtp, "250");
      smtp.send("DATA");
      expect(smtp, "354");
      // SMTP dot-stuffing on the way in (RFC 5321 §4.5.2)
      smtp.raw(original.replaceAll("(?m)^\\.", "..").getBytes(StandardCharsets.UTF_8));
      smtp.send(".");
      expect(smtp, "250");
      smtp.send("QUIT");
    }

    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      pop.login("alice@retrieve.test", "alice-pw");
      assertThat(pop.command("STAT")).startsWith("+OK 1 ");
      long listed = Long.parseLong(pop.command("LIST 1").split(" ")[2]);
      assertThat(pop.command("RETR 1")).isEqualTo("+OK " + listed + " octets");
      byte[] got = pop.body();
      assertThat((long) got.length).as("LIST size is the size RETR delivers").isEqualTo(listed);
      String text = new String(got, StandardCharsets.UTF_8);
      assertThat(text).startsWith("Return-Path: <zoe@remote.example>\r\nReceived: from client.example");
      assertThat(withoutFirstHeader(withoutFirstHeader(got))).isEqualTo(original.getBytes(StandardCharsets.UTF_8));
      assertThat(pop.command("QUIT")).startsWith("+OK");
    }
  }

  @Test
  void aTwentyMegabyteMessageStreamsOutIntact() throws Exception {
    // 20 MB of 100-byte lines, every tenth starting with a dot: all of it must be stuffed and un-stuffed.
    ByteArrayOutputStream b = new ByteArrayOutputStream(21 * 1024 * 1024);
    b.writeBytes("From: big@remote.example\r\nTo: carol@retrieve.test\r\nSubject: big\r\n\r\n".getBytes());
    byte[] plain = ("x".repeat(98) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] dotted = ("." + "y".repeat(97) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; b.size() < 20 * 1024 * 1024; i++) {
      b.writeBytes(i % 10 == 0 ? dotted : plain);
    }
    byte[] message = b.toByteArray();
    Pop3Mail.deliver(server, "carol@retrieve.test", message);
    byte[] want = MessageDigest.getInstance("SHA-256").digest(message);

    try (RawPop3 pop = new RawPop3(server.port("pop3"))) {
      pop.login("carol@retrieve.test", "carol-pw");
      assertThat(pop.command("RETR 1")).isEqualTo("+OK " + message.length + " octets");
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      assertThat(pop.body(d)).isEqualTo(message.length);
      assertThat(d.digest()).isEqualTo(want);
      // The session goes on normally after the stream.
      assertThat(pop.command("TOP 1 1")).startsWith("+OK");
      assertThat(pop.lines()).containsExactly("From: big@remote.example", "To: carol@retrieve.test", "Subject: big",
          "", new String(dotted, StandardCharsets.US_ASCII).strip());
      assertThat(pop.command("NOOP")).isEqualTo("+OK");
      assertThat(pop.command("QUIT")).startsWith("+OK");
    }
  }

  /** Drops the first header field (with its folded continuation lines). */
  private static byte[] withoutFirstHeader(byte[] msg) {
    int i = 0;
    while (true) {
      int lf = indexOf(msg, (byte) '\n', i);
      i = lf + 1;
      if (i >= msg.length || (msg[i] != ' ' && msg[i] != '\t')) {
        return Arrays.copyOfRange(msg, i, msg.length);
      }
    }
  }

  private static int indexOf(byte[] a, byte v, int from) {
    for (int i = from; i < a.length; i++) {
      if (a[i] == v) {
        return i;
      }
    }
    throw new AssertionError("no line end");
  }

  private static void expect(LineClient c, String code) throws Exception {
    String l = c.read();
    assertThat(l).startsWith(code);
  }
}
