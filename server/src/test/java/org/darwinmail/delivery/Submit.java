package org.darwinmail.delivery;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.darwinmail.testing.LineClient;

/** Submits a message as a mail client does: port 587, STARTTLS, AUTH PLAIN, then one transaction. */
final class Submit {
  private Submit() {}

  /** Returns the reply to the end of data (or the first refusal). */
  static String send(int port, String user, String password, String from, List<String> to, String mailParams,
      String message) throws IOException {
    try (LineClient c = new LineClient("127.0.0.1", port)) {
      expect(c.read(), "220");
      ehlo(c);
      c.send("STARTTLS");
      expect(c.read(), "220");
      c.upgrade();
      ehlo(c);
      c.send("AUTH PLAIN " + Base64.getEncoder().encodeToString(("\0" + user + "\0" + password)
          .getBytes(StandardCharsets.UTF_8)));
      expect(c.read(), "235");
      c.send("MAIL FROM:<" + from + ">" + (mailParams.isEmpty() ? "" : " " + mailParams));
      String r = c.read();
      if (!r.startsWith("250")) {
        return r;
      }
      for (String t : to) {
        c.send("RCPT TO:<" + t + ">");
        String rr = c.read();
        if (!rr.startsWith("250")) {
          return rr;
        }
      }
      c.send("DATA");
      expect(c.read(), "354");
      String body = message.replace("\r\n", "\n").replace("\n", "\r\n");
      body = (body.startsWith(".") ? "." : "") + body.replace("\r\n.", "\r\n.."); // RFC 5321 §4.5.2
      c.raw((body + "\r\n.\r\n").getBytes(StandardCharsets.UTF_8));
      String fin = c.read();
      c.send("QUIT");
      return fin;
    }
  }

  private static void ehlo(LineClient c) throws IOException {
    c.send("EHLO client.test");
    String l;
    do {
      l = c.read();
    } while (l != null && l.startsWith("250-"));
    expect(l, "250");
  }

  private static void expect(String line, String code) throws IOException {
    if (line == null || !line.startsWith(code)) {
      throw new IOException("expected " + code + ", got " + line);
    }
  }
}
