package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal POP3 client over a real socket that keeps the bytes of a multi-line answer exactly as sent, so that
 * tests can check byte-stuffing and byte-identical retrieval. Multi-line bodies are un-stuffed while read.
 */
final class RawPop3 implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  final String greeting;

  RawPop3(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(30_000);
    in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
    out = socket.getOutputStream();
    greeting = line();
  }

  /** Sends a command and returns its status line. */
  String command(String cmd) throws IOException {
    out.write((cmd + "\r\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
    return line();
  }

  /** Sends commands (CRLF-terminated lines, any number) in one write without reading anything (PIPELINING). */
  void send(String lines) throws IOException {
    out.write(lines.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  void login(String user, String password) throws IOException {
    assertThat(command("USER " + user)).startsWith("+OK");
    assertThat(command("PASS " + password)).startsWith("+OK");
  }

  /** The lines of a multi-line answer after its status line, un-stuffed, without the final ".". */
  List<String> lines() throws IOException {
    List<String> out = new ArrayList<>();
    for (String l = line(); !l.equals("."); l = line()) {
      out.add(l.startsWith(".") ? l.substring(1) : l);
    }
    return out;
  }

  /** The body of a multi-line answer as bytes, un-stuffed (RFC 1939 §3), without the terminating ".CRLF". */
  byte[] body() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    body(b::write, null);
    return b.toByteArray();
  }

  /** Streams the body into {@code digest} (for messages too big to keep); returns its length. */
  long body(MessageDigest digest) throws IOException {
    return body(null, digest);
  }

  private interface Sink {
    void write(byte[] b, int off, int len) throws IOException;
  }

  private long body(Sink sink, MessageDigest digest) throws IOException {
    long n = 0;
    ByteArrayOutputStream line = new ByteArrayOutputStream(1024);
    while (true) {
      line.reset();
      int c;
      while ((c = in.read()) != -1) {
        line.write(c);
        if (c == '\n') {
          break;
        }
      }
      if (c == -1) {
        throw new IOException("connection closed inside a multi-line answer");
      }
      byte[] l = line.toByteArray();
      if (l.length == 3 && l[0] == '.' && l[1] == '\r') {
        return n;
      }
      assertThat(l.length >= 2 && l[l.length - 2] == '\r').as("every line ends in CRLF").isTrue();
      int off = l.length > 0 && l[0] == '.' ? 1 : 0;
      if (sink != null) {
        sink.write(l, off, l.length - off);
      }
      if (digest != null) {
        digest.update(l, off, l.length - off);
      }
      n += l.length - off;
    }
  }

  String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1 && c != '\n') {
      b.write(c);
    }
    if (c == -1 && b.size() == 0) {
      return null;
    }
    String s = b.toString(StandardCharsets.UTF_8);
    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
  }

  /** Drops the connection without QUIT (a client crash, a dead link). */
  void drop() throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
