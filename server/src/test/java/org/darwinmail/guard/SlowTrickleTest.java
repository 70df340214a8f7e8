package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Slowloris by trickle: a client sending one byte a second keeps no session past its deadlines. The idle timeout
 * bounds the time a command line may take to arrive (not the time between two bytes), and the SMTP session
 * timeout ends the session on time, in the middle of a line. Each goodbye is the protocol's own.
 */
class SlowTrickleTest {
  static TestServer server;
  /** Far beyond the 2 s deadlines below; a trickle still going by then was never stopped. */
  static final long GIVE_UP_MS = 15_000;

  @BeforeAll
  static void start() {
    var parsed = ConfigLoader.parse("""
        [smtp]
        idle_timeout_seconds = 2
        [imap]
        idle_timeout_seconds = 2
        [pop3]
        idle_timeout_seconds = 2
        """);
    server = TestServer.start(c -> c.withSmtp(parsed.smtp()).withImap(parsed.imap()).withPop3(parsed.pop3()));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void smtpCommandTrickledByteByByteIsCutAtTheIdleTimeout() throws Exception {
    assertThat(trickle("smtp", "MAIL FROM:<someone-slow@elsewhere.test>\r\n"))
        .isEqualTo("421 4.4.2 Idle timeout, closing connection");
  }

  @Test
  void imapCommandTrickledByteByByteIsCutAtTheIdleTimeout() throws Exception {
    assertThat(trickle("imap", "a1 LOGIN someone-slow@elsewhere.test password\r\n"))
        .startsWith("* BYE ");
  }

  @Test
  void pop3CommandTrickledByteByByteIsCutAtTheIdleTimeout() throws Exception {
    assertThat(trickle("pop3", "USER someone-slow@elsewhere.test\r\n"))
        .isEqualTo("-ERR Idle timeout, closing connection");
  }

  @Test
  void smtpSessionTimeoutEndsATrickleOnTime() throws Exception {
    var parsed = ConfigLoader.parse("""
        [smtp]
        idle_timeout_seconds = 300
        session_timeout_seconds = 3
        """);
    try (TestServer s = TestServer.start(c -> c.withSmtp(parsed.smtp()))) {
      assertThat(trickle(s, "smtp", "MAIL FROM:<someone-slow@elsewhere.test>\r\n"))
          .isEqualTo("421 4.4.2 Session too long, closing connection");
    }
  }

  private static String trickle(String listener, String command) throws Exception {
    return trickle(server, listener, command);
  }

  /**
   * Connects, reads the greeting, then sends {@code command} one byte a second (over and over) until the server
   * closes; returns the last line it sent (null when it never closed within {@link #GIVE_UP_MS}). A reader thread
   * takes each line as it comes, so that a byte written after the server closed (answered by a reset) cannot
   * destroy its goodbye before it is read.
   */
  private static String trickle(TestServer target, String listener, String command) throws Exception {
    try (Socket s = new Socket("127.0.0.1", target.port(listener))) {
      s.setSoTimeout((int) GIVE_UP_MS);
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      assertThat(line(in)).isNotNull(); // the greeting
      AtomicReference<String> last = new AtomicReference<>();
      CountDownLatch closed = new CountDownLatch(1);
      Thread reader = Thread.ofVirtual().start(() -> {
        try {
          for (String l; (l = line(in)) != null; ) {
            last.set(l);
          }
          closed.countDown();
        } catch (IOException e) {
          // reset after our last byte: the lines before it were read
          closed.countDown();
        }
      });
      byte[] bytes = command.getBytes(StandardCharsets.US_ASCII);
      long end = System.currentTimeMillis() + GIVE_UP_MS;
      for (int i = 0; System.currentTimeMillis() < end; i++) {
        if (closed.await(1, TimeUnit.SECONDS)) {
          return last.get();
        }
        try {
          out.write(bytes[i % bytes.length]);
          out.flush();
        } catch (IOException e) {
          // closed by the server: the reader has its goodbye
        }
      }
      reader.interrupt();
      return null;
    }
  }

  /** One line without its CRLF; null at end of stream. */
  private static String line(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        return sb.toString().stripTrailing();
      }
      sb.append((char) c);
    }
    return null;
  }
}
