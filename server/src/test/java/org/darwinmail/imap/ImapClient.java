package org.darwinmail.imap;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.LineClient;

/** A small IMAP test client over {@link LineClient}: sends a tagged command and collects lines up to its reply. */
final class ImapClient implements AutoCloseable {
  /** A small message with this subject, for APPEND and SMTP. */
  static String message(String subject) {
    return "From: x@example.test\r\nSubject: " + subject + "\r\n\r\nbody of " + subject + "\r\n";
  }

  final LineClient c;
  private int n;

  ImapClient(int port) throws IOException {
    c = new LineClient("127.0.0.1", port);
    c.read(); // greeting
  }

  ImapClient login(String user, String pw) throws IOException {
    List<String> r = cmd("LOGIN " + user + " " + pw);
    if (!r.get(r.size() - 1).contains(" OK ")) {
      throw new IllegalStateException(r.toString());
    }
    return this;
  }

  /** Every line up to and including the tagged reply. */
  List<String> cmd(String command) throws IOException {
    String tag = "t" + (++n);
    c.send(tag + " " + command);
    return until(tag + " ");
  }

  List<String> until(String prefix) throws IOException {
    List<String> out = new ArrayList<>();
    String l;
    while ((l = c.read()) != null) {
      out.add(l);
      if (l.startsWith(prefix)) {
        break;
      }
    }
    return out;
  }

  void append(String box, String message) throws IOException {
    byte[] b = message.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    String tag = "t" + (++n);
    c.raw((tag + " APPEND " + box + " {" + b.length + "+}\r\n").getBytes());
    c.raw(b);
    c.raw("\r\n".getBytes());
    List<String> r = until(tag + " ");
    if (!r.get(r.size() - 1).contains(" OK ")) {
      throw new IllegalStateException(r.toString());
    }
  }

  @Override
  public void close() throws IOException {
    c.close();
  }
}
