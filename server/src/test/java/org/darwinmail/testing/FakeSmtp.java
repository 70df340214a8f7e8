package org.darwinmail.testing;

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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * The remote SMTP server of the tests (the delivery engine's peer, a remote MX for the guard): it records what it
 * accepts (the messages, their Subject, their recipients) and produces on demand the failures a real server will
 * not: RCPT answers chosen per attempt (451 then 250), no SMTPUTF8, no PIPELINING, a broken STARTTLS, a
 * per-connection limit. Plain text, one thread per connection.
 */
public final class FakeSmtp implements AutoCloseable {
  private final ServerSocket server;
  private final boolean smtputf8;
  private final IntFunction<String> rcptReply;
  /** Offer STARTTLS and then answer the handshake with garbage (a broken TLS set-up). */
  public volatile boolean brokenTls;
  public final AtomicInteger startTlsAttempts = new AtomicInteger();
  /** Offer STARTTLS and serve it with this context's certificate (a real handshake); null: no STARTTLS. */
  public volatile javax.net.ssl.SSLContext tls;
  /** Whether each accepted message came over TLS, in the order accepted. */
  public final List<Boolean> overTls = new CopyOnWriteArrayList<>();
  public final AtomicInteger transactions = new AtomicInteger();
  public final AtomicInteger connections = new AtomicInteger();
  /** Closed: the first message's final reply waits until it opens. */
  public final java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
  public volatile boolean gated;
  /** Messages accepted per connection; the next MAIL gets "421" and the connection closes (0: no limit). */
  public volatile int messagesPerConnection;
  /** Drop the connection after each accepted message, without waiting for QUIT. */
  public volatile boolean dropAfterMessage;
  public final List<String> messages = new CopyOnWriteArrayList<>();
  public final List<String> mailCommands = new CopyOnWriteArrayList<>();
  /** The recipients of each transaction that ended with an accepted message. */
  public final List<List<String>> deliveries = new CopyOnWriteArrayList<>();
  /** The Subject of each accepted message ("" when it has none). */
  public final List<String> subjects = new CopyOnWriteArrayList<>();
  /** Each accepted message: its Subject, the recipients accepted for it, when (in the order accepted). */
  public final List<Accepted> acceptedMessages = new CopyOnWriteArrayList<>();
  /**
   * Holding: a message whose data ends while this is set gets no final reply; its connection waits until
   * {@link #dropHeld} closes it (a peer that never accepted it: nothing recorded).
   */
  public volatile boolean holding;
  /** The connections held now. */
  public final List<Socket> held = new CopyOnWriteArrayList<>();
  /** The EHLO name of each connection when it was held (which client, of several, is waiting for its reply). */
  public final List<String> heldHelos = new CopyOnWriteArrayList<>();

  public record Accepted(String subject, List<String> recipients, java.time.Instant at) {}

  /** @param rcptReply given the number of the transaction (1, 2, ...), the reply to every RCPT */
  public FakeSmtp(String ip, int port, boolean smtputf8, IntFunction<String> rcptReply) throws IOException {
    this.server = new ServerSocket(port, 50, InetAddress.getByName(ip));
    this.smtputf8 = smtputf8;
    this.rcptReply = rcptReply;
    Thread.ofVirtual().start(this::accept);
  }

  /**
   * A server accepting everything, listening on the port held by {@code reserved}, which it then lets go: the port
   * was never free in between, so nothing else (another test's listener, a client's ephemeral port) can have taken
   * it.
   */
  public FakeSmtp(Reservation reserved) throws IOException {
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), reserved.port()), 50);
    reserved.close();
    this.smtputf8 = true;
    this.rcptReply = n -> "250 2.1.5 ok";
    Thread.ofVirtual().start(this::accept);
  }

  /**
   * A loopback port held for a server to come: bound, not listening (a connection to it is refused, as when nothing
   * is there), with SO_REUSEADDR so that the server's socket can bind it before this one closes.
   */
  public static final class Reservation implements AutoCloseable {
    private final Socket socket = new Socket();

    public Reservation() throws IOException {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    public int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        Thread.ofVirtual().start(() -> session(s));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void session(Socket s0) {
    connections.incrementAndGet();
    Socket s = s0;
    try (s0) {
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
      OutputStream out = s.getOutputStream();
      say(out, "220 fake.test ESMTP");
      int n = 0;
      int accepted = 0;
      boolean anyRcpt = false;
      List<String> rcpts = new java.util.ArrayList<>();
      String helo = "";
      String line;
      while ((line = in.readLine()) != null) {
        String u = line.toUpperCase();
        if (u.startsWith("EHLO")) {
          helo = line.length() > 5 ? line.substring(5).trim() : "";
          say(out, "250-fake.test\r\n250-8BITMIME\r\n" + (smtputf8 ? "250-SMTPUTF8\r\n" : "")
              + (brokenTls || (tls != null && !(s instanceof javax.net.ssl.SSLSocket)) ? "250-STARTTLS\r\n" : "")
              + "250 SIZE 1000000");
        } else if (u.equals("STARTTLS") && brokenTls) {
          startTlsAttempts.incrementAndGet();
          say(out, "220 2.0.0 go ahead");
          say(out, "this is not a TLS server hello");
          return;
        } else if (u.equals("STARTTLS") && tls != null && !(s instanceof javax.net.ssl.SSLSocket)) {
          // RFC 3207: "220", then the handshake on the same connection, then the session starts over.
          startTlsAttempts.incrementAndGet();
          say(out, "220 2.0.0 go ahead");
          javax.net.ssl.SSLSocket t = (javax.net.ssl.SSLSocket) tls.getSocketFactory().createSocket(s, null, true);
          t.setUseClientMode(false);
          t.startHandshake();
          s = t;
          in = new BufferedReader(new InputStreamReader(t.getInputStream(), StandardCharsets.UTF_8));
          out = t.getOutputStream();
          helo = "";
        } else if (u.startsWith("MAIL")) {
          if (messagesPerConnection > 0 && accepted >= messagesPerConnection) {
            say(out, "421 4.7.0 too many messages in this connection");
            return;
          }
          n = transactions.incrementAndGet();
          anyRcpt = false;
          rcpts = new java.util.ArrayList<>();
          mailCommands.add(line);
          say(out, "250 2.1.0 ok");
        } else if (u.startsWith("RCPT")) {
          String r = rcptReply.apply(n);
          anyRcpt |= r.startsWith("2");
          if (r.startsWith("2")) {
            rcpts.add(line.substring(line.indexOf('<') + 1, line.lastIndexOf('>')));
          }
          say(out, r);
        } else if (u.equals("DATA")) {
          if (!anyRcpt) {
            say(out, "554 5.5.1 no valid recipients");
            continue;
          }
          say(out, "354 go ahead");
          StringBuilder msg = new StringBuilder();
          String l;
          while ((l = in.readLine()) != null && !l.equals(".")) {
            msg.append(l.startsWith(".") ? l.substring(1) : l).append("\r\n");
          }
          if (gated) {
            gate.await();
          }
          if (holding) {
            held.add(s);
            heldHelos.add(helo);
            while (in.readLine() != null) {
              // nothing comes before our reply; this ends when dropHeld closes the socket
            }
            return;
          }
          messages.add(msg.toString());
          overTls.add(s instanceof javax.net.ssl.SSLSocket);
          subjects.add(subjectOf(msg.toString()));
          deliveries.add(List.copyOf(rcpts));
          acceptedMessages.add(new Accepted(subjectOf(msg.toString()), List.copyOf(rcpts), java.time.Instant.now()));
          accepted++;
          say(out, "250 2.0.0 accepted");
          if (dropAfterMessage) {
            return;
          }
        } else if (u.equals("QUIT")) {
          say(out, "221 bye");
          return;
        } else {
          say(out, "250 ok");
        }
      }
    } catch (IOException e) {
      // peer went away
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The Subject field of a message's header ("" when there is none). */
  private static String subjectOf(String message) {
    for (String l : message.split("\r\n")) {
      if (l.isEmpty()) {
        break;
      }
      if (l.regionMatches(true, 0, "Subject: ", 0, 9)) {
        return l.substring(9);
      }
    }
    return "";
  }

  private static void say(OutputStream out, String s) throws IOException {
    out.write((s + "\r\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** Closes the held connections without a final reply: their messages were never accepted. */
  public void dropHeld() throws IOException {
    for (Socket s : held) {
      s.close();
    }
    held.clear();
    heldHelos.clear();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
