package org.darwinmail.guard;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A remote MX for the guard's tests: a minimal SMTP receiver on 127.0.0.1 recording the Subject of each message. */
final class SmtpSink implements AutoCloseable {
  final List<String> subjects = new CopyOnWriteArrayList<>();
  private final ServerSocket server;

  /**
   * Listens on the port held by {@code reserved}, then lets the reservation go: the port was never free in
   * between, so nothing else (another test's listener, a client's ephemeral port) can have taken it.
   */
  SmtpSink(Reservation reserved) throws IOException {
    server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), reserved.port()), 50);
    reserved.close();
    Thread.ofVirtual().start(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          Thread.ofVirtual().start(() -> serve(s));
        } catch (IOException e) {
          return;
        }
      }
    });
  }

  /**
   * A loopback port held for a sink to come: bound, not listening (a connection to it is refused, as when nothing
   * is there), with SO_REUSEADDR so that the sink's socket can bind it before this one closes.
   */
  static final class Reservation implements AutoCloseable {
    private final Socket socket = new Socket();

    Reservation() throws IOException {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private void serve(Socket s) {
    try (s; BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = s.getOutputStream()) {
      say(out, "220 sink.remote.test ESMTP");
      String line;
      String subject = null;
      boolean data = false;
      while ((line = in.readLine()) != null) {
        if (data) {
          if (line.equals(".")) {
            data = false;
            subjects.add(subject == null ? "" : subject);
            subject = null;
            say(out, "250 2.0.0 OK");
          } else if (subject == null && line.startsWith("Subject: ")) {
            subject = line.substring(9);
          }
          continue;
        }
        String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase(java.util.Locale.ROOT) : line;
        switch (verb) {
          case "EHLO", "HELO" -> say(out, "250 sink.remote.test");
          case "DATA" -> {
            data = true;
            say(out, "354 go ahead");
          }
          case "QUIT" -> {
            say(out, "221 bye");
            return;
          }
          default -> say(out, "250 OK");
        }
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  private static void say(OutputStream out, String line) throws IOException {
    out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
