package org.darwinmail;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 22, "listeners first": the mail listeners are bound before the store opens. A client connecting meanwhile is
 * greeted at once, and its first commands are answered once the store is open, in the ordinary session; a store that
 * does not open gives each waiting client its protocol's "closing, try again later" line. The store's opening is
 * held by {@link DarwinMail#beforeStore} (a latch), real sockets throughout.
 */
class StartBeforeStoreTest {
  private final CountDownLatch listening = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);
  private volatile DarwinMail starting;

  @AfterEach
  void noHook() {
    DarwinMail.beforeStore = m -> {};
    release.countDown();
  }

  /** Starts {@code config} on a thread, held before its store opens; returns when the listeners are bound. */
  private CompletableFuture<DarwinMail> startHeld(ServerConfig config) throws InterruptedException {
    DarwinMail.beforeStore = m -> {
      starting = m;
      listening.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    CompletableFuture<DarwinMail> started = CompletableFuture.supplyAsync(() -> DarwinMail.start(config));
    assertThat(listening.await(60, TimeUnit.SECONDS)).as("listeners bound").isTrue();
    return started;
  }

  private static final class Client implements AutoCloseable {
    final Socket socket;
    final BufferedReader in;
    final OutputStream out;

    Client(int port) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(60_000);
      in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      out = socket.getOutputStream();
    }

    String line() throws IOException {
      return in.readLine();
    }

    void send(String line) throws IOException {
      out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
    }

    /** Reads lines up to one starting with {@code prefix}; returns that one. */
    String until(String prefix) throws IOException {
      String l;
      while ((l = in.readLine()) != null) {
        if (l.startsWith(prefix)) {
          return l;
        }
      }
      return null;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  @Test
  void clientsAreGreetedBeforeTheStoreOpensAndTheirFirstCommandsRunOnceItDoes() throws Exception {
    ServerConfig config;
    try (TestServer t = TestServer.start()) {
      t.addUser("ann@example.test", "secret-1");
      t.server().close();
      config = t.config();
      CompletableFuture<DarwinMail> started = startHeld(config);
      DarwinMail m = starting;
      try (Client smtp = new Client(m.port("smtp")); Client imap = new Client(m.port("imap"));
          Client pop3 = new Client(m.port("pop3"))) {
        // Greeted while the store is held: the same greetings as the sessions send.
        assertThat(smtp.line()).isEqualTo("220 mx.test ESMTP Darwin Mail ready");
        String imapGreeting = imap.line();
        assertThat(imapGreeting).startsWith("* OK [CAPABILITY IMAP4rev1").endsWith("] mx.test Darwin Mail IMAP ready");
        assertThat(pop3.line()).isEqualTo("+OK Darwin Mail POP3 ready");
        assertThat(started).isNotDone();
        // The first commands, sent while the store is still held.
        smtp.send("EHLO client.test");
        imap.send("a1 CAPABILITY");
        pop3.send("USER ann@example.test");
        release.countDown();
        assertThat(smtp.until("250 ")).isNotNull();
        smtp.send("MAIL FROM:<bob@remote.test>");
        assertThat(smtp.line()).startsWith("250");
        smtp.send("RCPT TO:<ann@example.test>");
        assertThat(smtp.line()).startsWith("250");
        smtp.send("DATA");
        assertThat(smtp.line()).startsWith("354");
        smtp.send("Subject: early\r\n\r\nAccepted by a server that greeted before its store opened.\r\n.");
        assertThat(smtp.line()).startsWith("250");
        smtp.send("QUIT");
        assertThat(smtp.line()).startsWith("221");
        // IMAP: the greeting's capabilities are those the session advertises before login (RFC 9051 §7.1.1).
        String caps = imap.line();
        assertThat("* OK [CAPABILITY " + caps.substring("* CAPABILITY ".length()) + "]")
            .isEqualTo(imapGreeting.substring(0, imapGreeting.indexOf(']') + 1));
        assertThat(imap.line()).startsWith("a1 OK");
        imap.send("a2 LOGIN ann@example.test secret-1");
        assertThat(imap.until("a2 ")).startsWith("a2 OK");
        imap.send("a3 SELECT INBOX");
        assertThat(imap.until("* 1 EXISTS")).isNotNull();
        assertThat(imap.until("a3 ")).startsWith("a3 OK");
        imap.send("a4 FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
        assertThat(imap.until("Subject:")).isEqualTo("Subject: early");
        // POP3: USER was answered after the store opened; the maildrop holds the message.
        assertThat(pop3.line()).startsWith("+OK");
        pop3.send("PASS secret-1");
        assertThat(pop3.line()).startsWith("+OK");
        pop3.send("STAT");
        assertThat(pop3.line()).matches("\\+OK 1 \\d+");
        pop3.send("QUIT");
      }
      try (DarwinMail server = started.get(60, TimeUnit.SECONDS)) {
        assertThat(server.services().directory().domains()).contains("example.test");
      }
    }
  }

  /**
   * Implicit TLS (IMAPS, port 465): a connection accepted before the TLS context exists (here a start without its
   * certificate, made after the store opened, as on a first start) sends its ClientHello at once; the handshake and
   * then the greeting follow once the context is made, and the session runs as usual.
   */
  @Test
  void anImplicitTlsConnectionAcceptedBeforeTheTlsContextGetsItsHandshakeAndGreetingAfter() throws Exception {
    try (TestServer t = TestServer.start()) {
      t.addUser("ann@example.test", "secret-1");
      t.server().close();
      var dd = org.darwinmail.store.DataDir.of(t.dataDir());
      Files.delete(dd.tlsCert());
      Files.delete(dd.tlsKey());
      CompletableFuture<DarwinMail> started = startHeld(t.config());
      DarwinMail m = starting;
      try (Socket imaps = new Socket("127.0.0.1", m.port("imaps"));
          Socket submissions = new Socket("127.0.0.1", m.port("submissions"))) {
        List<CompletableFuture<BufferedReader>> greeted = new java.util.ArrayList<>();
        for (Socket plain : List.of(imaps, submissions)) {
          plain.setSoTimeout(60_000);
          greeted.add(CompletableFuture.supplyAsync(() -> {
            try {
              var s = (javax.net.ssl.SSLSocket) org.darwinmail.testing.LineClient.trustAll().getSocketFactory()
                  .createSocket(plain, "127.0.0.1", plain.getPort(), true);
              s.setUseClientMode(true);
              s.startHandshake(); // the ClientHello goes now; the answer waits for the TLS context
              var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
              s.getOutputStream().write((plain == imaps ? "a1 LOGIN ann@example.test secret-1\r\n"
                  : "EHLO client.test\r\n").getBytes(StandardCharsets.UTF_8));
              s.getOutputStream().flush();
              return in;
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }));
        }
        release.countDown();
        BufferedReader imapIn = greeted.get(0).get(60, TimeUnit.SECONDS);
        assertThat(imapIn.readLine()).startsWith("* OK [CAPABILITY IMAP4rev1").contains("AUTH=PLAIN");
        assertThat(imapIn.readLine()).startsWith("a1 OK");
        BufferedReader smtpIn = greeted.get(1).get(60, TimeUnit.SECONDS);
        assertThat(smtpIn.readLine()).isEqualTo("220 mx.test ESMTP Darwin Mail ready");
        assertThat(smtpIn.readLine()).startsWith("250-mx.test");
      }
      started.get(60, TimeUnit.SECONDS).close();
    }
  }

  /**
   * The deadlines while the store is held (POP3's idle timeout of 2 s): a silent client is ended by its command
   * deadline with the closing line; a client whose first command waits for the store is busy, not idle, and is
   * answered once the store opens, however long that took.
   */
  @Test
  void aWaitingConnectionObeysItsIdleDeadlineButACommandWaitingForTheStoreIsNotIdle() throws Exception {
    try (TestServer t = TestServer.start(c -> c.withPop3(new org.darwinmail.config.Pop3Config(2, null, null, null)))) {
      t.addUser("ann@example.test", "secret-1");
      t.server().close();
      CompletableFuture<DarwinMail> started = startHeld(t.config());
      DarwinMail m = starting;
      try (Client silent = new Client(m.port("pop3")); Client asking = new Client(m.port("pop3"))) {
        assertThat(silent.line()).startsWith("+OK");
        assertThat(asking.line()).startsWith("+OK");
        asking.send("USER ann@example.test");
        assertThat(silent.line()).isEqualTo("-ERR [SYS/TEMP] Service not available, closing connection");
        assertThat(silent.line()).as("closed").isNull();
        assertThat(started).isNotDone(); // the silent client was ended while the store was still held
        release.countDown();
        assertThat(asking.line()).startsWith("+OK");
        asking.send("PASS secret-1");
        assertThat(asking.line()).startsWith("+OK");
      }
      started.get(60, TimeUnit.SECONDS).close();
    }
  }

  @Test
  void aStoreThatDoesNotOpenGivesEachWaitingClientItsClosingLine() throws Exception {
    try (TestServer t = TestServer.start()) {
      t.addUser("ann@example.test", "secret-1");
      t.server().close();
      ServerConfig config = t.config();
      // A database a newer release migrated, without a manifest: refused once Derby has booted it, after the
      // listeners (a newer manifest is refused before them, DataFormatTest).
      int newer = 99;
      Files.delete(config.dataDir().resolve("FORMAT"));
      String url = "jdbc:derby:" + config.dataDir().resolve("db").toAbsolutePath();
      try (java.sql.Connection db = java.sql.DriverManager.getConnection(url)) {
        db.createStatement().executeUpdate("INSERT INTO schema_version VALUES (" + newer + ", 'V099__future.sql',"
            + " CURRENT_TIMESTAMP)");
      }
      try {
        java.sql.DriverManager.getConnection(url + ";shutdown=true").close();
      } catch (java.sql.SQLException e) {
        assertThat(e.getSQLState()).isEqualTo("08006"); // Derby's normal answer to a shutdown
      }
      CompletableFuture<DarwinMail> started = startHeld(config);
      DarwinMail m = starting;
      try (Client smtp = new Client(m.port("smtp")); Client smtpIdle = new Client(m.port("smtp"));
          Client imap = new Client(m.port("imap")); Client pop3 = new Client(m.port("pop3"))) {
        assertThat(smtp.line()).startsWith("220 ");
        assertThat(smtpIdle.line()).startsWith("220 ");
        assertThat(imap.line()).startsWith("* OK ");
        assertThat(pop3.line()).startsWith("+OK ");
        smtp.send("EHLO client.test"); // waiting with a command; smtpIdle waits without one
        imap.send("a1 LOGIN ann@example.test secret-1");
        pop3.send("USER ann@example.test");
        release.countDown();
        assertThat(smtp.line()).isEqualTo("421 4.3.2 Service not available, closing connection");
        assertThat(smtp.line()).as("closed").isNull();
        assertThat(smtpIdle.line()).isEqualTo("421 4.3.2 Service not available, closing connection");
        assertThat(smtpIdle.line()).as("closed").isNull();
        assertThat(imap.line()).isEqualTo("* BYE [UNAVAILABLE] Service not available, try again later");
        assertThat(imap.line()).as("closed").isNull();
        assertThat(pop3.line()).isEqualTo("-ERR [SYS/TEMP] Service not available, closing connection");
        assertThat(pop3.line()).as("closed").isNull();
      }
      assertThat(started).failsWithin(60, TimeUnit.SECONDS).withThrowableThat()
          .withMessageContaining("database schema " + newer);
    }
  }
}
