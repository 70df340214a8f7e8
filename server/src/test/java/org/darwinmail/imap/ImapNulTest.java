package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A NUL byte in a message (it arrives: BDAT carries any octet, RFC 3030) never goes out in an IMAP literal, where
 * RFC 9051 §4.3 and its ABNF (CHAR8 = %x01-ff) forbid it: BODY[] and its kin send 0x80 in its place (as Dovecot
 * does; the size does not change, so RFC822.SIZE and partial offsets stay true), BINARY[] sends the octets as they
 * are in a literal8 (~{n}, RFC 3516 §4.2). Small messages and large (streamed from the file) alike.
 */
class ImapNulTest {
  static TestServer server;
  static final String USER = "nul@nul.test";

  @BeforeAll
  static void start() throws IOException {
    server = TestServer.start();
    server.addUser(USER, "nul-pw");
    bdat(message("small", 10));
    bdat(message("large", 300_000)); // past SelectedCommands.STREAM_OVER
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** A message whose body holds "before", a NUL, "after", then {@code padding} bytes of text. */
  static byte[] message(String subject, int padding) {
    String head = "From: a@elsewhere.test\r\nTo: " + USER + "\r\nSubject: " + subject + "\r\n\r\nbefore";
    String tail = "after\r\n" + ("x".repeat(76) + "\r\n").repeat(padding / 78);
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(head.getBytes(StandardCharsets.US_ASCII));
    b.write(0);
    b.writeBytes(tail.getBytes(StandardCharsets.US_ASCII));
    return b.toByteArray();
  }

  static void bdat(byte[] msg) throws IOException {
    try (Socket s = new Socket("127.0.0.1", server.port("smtp"))) {
      s.setSoTimeout(15_000);
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      String commands = "EHLO client.test\r\nMAIL FROM:<a@elsewhere.test>\r\nRCPT TO:<" + USER + ">\r\n"
          + "BDAT " + msg.length + " LAST\r\n";
      out.write(commands.getBytes(StandardCharsets.US_ASCII));
      out.write(msg);
      out.write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String transcript = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(transcript).contains("250 2.0.0");
    }
  }

  @Test
  void bodyFetchesSendNoNulAndBinarySendsItInALiteral8() throws Exception {
    try (Socket s = new Socket("127.0.0.1", server.port("imap"))) {
      s.setSoTimeout(15_000);
      Raw c = new Raw(s);
      c.read(null);
      c.cmd("a1 LOGIN " + USER + " nul-pw");
      c.cmd("a2 SELECT INBOX");
      for (int msn = 1; msn <= 2; msn++) {
        for (String item : new String[] {"BODY.PEEK[]", "RFC822", "BODY.PEEK[TEXT]", "BODY.PEEK[]<0.100000>"}) {
          byte[] r = c.cmd("b FETCH " + msn + " (" + item + ")");
          assertThat(indexOf(r, (byte) 0)).as(item + " of message " + msn + " holds no NUL").isEqualTo(-1);
          assertThat(new String(r, StandardCharsets.ISO_8859_1)).contains("before\u0080after");
        }
        byte[] whole = c.cmd("c FETCH " + msn + " (RFC822.SIZE BODY.PEEK[])");
        var sizes = java.util.regex.Pattern.compile("RFC822.SIZE (\\d+) BODY\\[] \\{(\\d+)}")
            .matcher(new String(whole, StandardCharsets.ISO_8859_1));
        assertThat(sizes.find()).isTrue();
        assertThat(sizes.group(2)).as("the literal is the size of the message").isEqualTo(sizes.group(1));
        byte[] binary = c.cmd("d FETCH " + msn + " (BINARY.PEEK[1])");
        String b = new String(binary, StandardCharsets.ISO_8859_1);
        assertThat(b).contains("BINARY[1] ~{").contains("before\u0000after");
      }
    }
  }

  static int indexOf(byte[] b, byte x) {
    for (int i = 0; i < b.length; i++) {
      if (b[i] == x) {
        return i;
      }
    }
    return -1;
  }

  /** Raw bytes of IMAP responses, up to the tagged one. */
  static final class Raw {
    final InputStream in;
    final OutputStream out;

    Raw(Socket s) throws IOException {
      in = s.getInputStream();
      out = s.getOutputStream();
    }

    byte[] cmd(String line) throws IOException {
      out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      byte[] r = read(line.substring(0, line.indexOf(' ')));
      assertThat(new String(r, StandardCharsets.ISO_8859_1)).as(line).contains(line.substring(0, line.indexOf(' '))
          + " OK");
      return r;
    }

    /** Reads lines (with the literals they announce) until one starts with {@code tag} (null: one line). */
    byte[] read(String tag) throws IOException {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      while (true) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int ch;
        while ((ch = in.read()) != -1 && ch != '\n') {
          line.write(ch);
        }
        if (ch == -1) {
          throw new IOException("closed");
        }
        line.write('\n');
        byte[] l = line.toByteArray();
        all.writeBytes(l);
        String t = new String(l, StandardCharsets.ISO_8859_1);
        var m = java.util.regex.Pattern.compile("\\{(\\d+)}\r\n$").matcher(t);
        if (m.find()) {
          all.writeBytes(in.readNBytes(Integer.parseInt(m.group(1))));
          continue; // the line goes on after the literal
        }
        if (tag == null || t.startsWith(tag + " ")) {
          return all.toByteArray();
        }
      }
    }
  }
}
