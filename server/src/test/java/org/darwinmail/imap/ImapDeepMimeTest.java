package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Folder;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Session;
import jakarta.mail.Store;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.mime.MimePart;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * MIME nested deeper than the bound ({@link MimePart#MAX_DEPTH} levels, README "MIME structure"): BODY and
 * BODYSTRUCTURE show the same structure down to the bound, in valid IMAP syntax (a client nobody here wrote, Angus
 * Mail, parses it), and the multipart at the bound is one opaque application/octet-stream part whose section
 * gives the bytes the structure announces: nothing is hidden, nothing made up.
 */
class ImapDeepMimeTest {
  static TestServer server;
  static final int LEVELS = MimePart.MAX_DEPTH + 15;

  @BeforeAll
  static void start() throws Exception {
    server = SharedServer.get();
    server.addUser("deep@deep.test", "deep-pw");
    try (ImapClient c = new ImapClient(server.port("imap")).login("deep@deep.test", "deep-pw")) {
      c.append("INBOX", nested(LEVELS));
    }
  }

  /** Multiparts nested {@code levels} deep (boundaries "x0y", "x1y"...: none is the start of another). */
  static String nested(int levels) {
    StringBuilder sb = new StringBuilder("From: a@deep.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=x0y\r\n\r\n");
    for (int i = 1; i < levels; i++) {
      sb.append("--x").append(i - 1).append("y\r\nContent-Type: multipart/mixed; boundary=x").append(i)
          .append("y\r\n\r\n");
    }
    sb.append("--x").append(levels - 1).append("y\r\nContent-Type: text/plain\r\n\r\nthe deepest text\r\n");
    for (int i = levels - 1; i >= 0; i--) {
      sb.append("--x").append(i).append("y--\r\n");
    }
    return sb.toString();
  }

  @Test
  void structureStopsAtTheBoundWithAnOpaquePartHoldingTheRest() throws Exception {
    Properties p = new Properties();
    p.put("mail.imap.connectiontimeout", "10000");
    p.put("mail.imap.timeout", "10000");
    Store store = Session.getInstance(p).getStore("imap");
    store.connect("127.0.0.1", server.port("imap"), "deep@deep.test", "deep-pw");
    try {
      Folder inbox = store.getFolder("INBOX");
      inbox.open(Folder.READ_ONLY);
      Part part = inbox.getMessage(1); // Angus reads the BODYSTRUCTURE, and each part's section on demand
      int multiparts = 0;
      while (part.isMimeType("multipart/*")) {
        multiparts++;
        Multipart mp = (Multipart) part.getContent();
        assertThat(mp.getCount()).isEqualTo(1);
        part = mp.getBodyPart(0);
      }
      assertThat(multiparts).isEqualTo(MimePart.MAX_DEPTH);
      assertThat(part.getContentType()).startsWithIgnoringCase("application/octet-stream");
      byte[] rest;
      try (InputStream in = part.getInputStream()) {
        rest = in.readAllBytes();
      }
      assertThat(rest.length).isEqualTo(part.getSize());
      assertThat(new String(rest, StandardCharsets.US_ASCII)).contains("the deepest text")
          .contains("--x" + (LEVELS - 1) + "y--");
      inbox.close(false);
    } finally {
      store.close();
    }
    // BODY (non-extensible) has the same shape: as many multipart levels, then the same opaque part.
    try (ImapClient c = new ImapClient(server.port("imap")).login("deep@deep.test", "deep-pw")) {
      c.cmd("EXAMINE INBOX");
      String body = String.join("\n", c.cmd("FETCH 1 BODY"));
      String structure = String.join("\n", c.cmd("FETCH 1 BODYSTRUCTURE"));
      assertThat(body).contains("(" .repeat(MimePart.MAX_DEPTH + 1) + "\"APPLICATION\" \"OCTET-STREAM\"");
      assertThat(structure).contains("(".repeat(MimePart.MAX_DEPTH + 1) + "\"APPLICATION\" \"OCTET-STREAM\"");
    }
  }
}
