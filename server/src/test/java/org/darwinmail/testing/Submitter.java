package org.darwinmail.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.SSLSocket;

/**
 * An SMTP client over a real socket, as a mail client submits: from a chosen loopback address (127.0.0.2 is
 * "another client"), plain (port 25) or submission (587: STARTTLS, AUTH PLAIN).
 */
public final class Submitter implements AutoCloseable {
  private Socket socket;
  private InputStream in;
  private OutputStream out;
  public final String greeting;

  /** Connects from {@code from} and reads the greeting (null when the server closed at once). */
  public Submitter(String from, int port) throws IOException {
    this(from, "127.0.0.1", port);
  }

  /** Connects from {@code from} to {@code host} (a cluster node's loopback address) and reads the greeting. */
  public Submitter(String from, String host, int port) throws IOException {
    socket = new Socket();
    socket.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
    socket.connect(new InetSocketAddress(host, port), 5_000);
    socket.setSoTimeout(15_000);
    in = socket.getInputStream();
    out = socket.getOutputStream();
    greeting = read();
  }

  /** Submission from 127.0.0.1, logged in. */
  public Submitter(int port, String user, String password) throws IOException {
    this("127.0.0.1", "127.0.0.1", port, user, password);
  }

  /** Submission from 127.0.0.1 to {@code host} (a cluster node's address), logged in. */
  public Submitter(String host, int port, String user, String password) throws IOException {
    this("127.0.0.1", host, port, user, password);
  }

  private Submitter(String from, String host, int port, String user, String password) throws IOException {
    this(from, host, port);
    expect(greeting, "220");
    startTls();
    expect(auth(user, password), "235");
  }

  /** How long a read waits for the server (15 s unless set). */
  public void timeout(int millis) throws IOException {
    socket.setSoTimeout(millis);
  }

  public void startTls() throws IOException {
    ehlo();
    send("STARTTLS");
    expect(read(), "220");
    SSLSocket s = (SSLSocket) LineClient.trustAll().getSocketFactory()
        .createSocket(socket, "127.0.0.1", socket.getPort(), true);
    s.setUseClientMode(true);
    s.startHandshake();
    socket = s;
    in = s.getInputStream();
    out = s.getOutputStream();
    ehlo();
  }

  public String auth(String user, String password) throws IOException {
    send("AUTH PLAIN " + Base64.getEncoder().encodeToString(
        ("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8)));
    return read();
  }

  public void ehlo() throws IOException {
    send("EHLO client.test");
    String l;
    do {
      l = read();
    } while (l != null && l.startsWith("250-"));
    expect(l, "250");
  }

  public static void expect(String line, String code) throws IOException {
    if (line == null || !line.startsWith(code)) {
      throw new IOException("expected " + code + ", got " + line);
    }
  }

  /**
   * Submits one message; returns the reply that decided its fate: the final 250 after the body, or the first
   * refusal (at MAIL, RCPT or after the body).
   */
  public String send(String from, List<String> to, String subject) throws IOException {
    send("MAIL FROM:<" + from + ">");
    String r = read();
    if (!r.startsWith("250")) {
      return r;
    }
    String refused = null;
    int accepted = 0;
    for (String t : to) {
      send("RCPT TO:<" + t + ">");
      String rr = read();
      if (rr.startsWith("250")) {
        accepted++;
      } else if (refused == null) {
        refused = rr;
      }
    }
    if (accepted == 0) {
      send("RSET");
      read();
      return refused;
    }
    send("DATA");
    String d = read();
    if (!d.startsWith("354")) {
      return d;
    }
    send("From: <" + from + ">\r\nTo: <" + to.getFirst() + ">\r\nSubject: " + subject + "\r\n\r\nHello.\r\n.");
    return read();
  }

  /**
   * Submits {@code message} (LF or CRLF line ends, dot-stuffed here, RFC 5321 §4.5.2) on port {@code port} logged in
   * as {@code user}, with {@code mailParams} on MAIL FROM; returns the reply to the end of data, or the first
   * refusal (at MAIL or at any RCPT).
   */
  public static String submit(int port, String user, String password, String from, List<String> to,
      String mailParams, String message) throws IOException {
    try (Submitter c = new Submitter(port, user, password)) {
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
      body = (body.startsWith(".") ? "." : "") + body.replace("\r\n.", "\r\n..");
      c.send(body + "\r\n.");
      String fin = c.read();
      c.send("QUIT");
      return fin;
    }
  }

  /** Bytes as they are (a BDAT chunk). */
  public void raw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  public void send(String line) throws IOException {
    out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** The next line without CRLF, or null when the server closed the connection. */
  public String read() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.UTF_8);
  }

  /** True when the server has closed the connection (what it still sends is read and dropped). */
  public boolean closedByServer() {
    try {
      while (in.read() != -1) {
        // drain
      }
      return true;
    } catch (IOException e) {
      return true;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
