package org.darwinmail.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.darwinmail.config.StoreConfig;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * What clients see when the store cannot take mail (README, "A full disk"): SMTP answers {@code 452 4.3.1} at MAIL,
 * RCPT and DATA, IMAP APPEND {@code NO [UNAVAILABLE]} without asking for the message, reads answer at once with what
 * is stored, and everything acknowledged is stored once when the store can write again, without a restart. The
 * real thing (a loop-mounted ext4 file system filled under load) is tests/e2e/test_full_disk.py.
 */
class DiskFullTest {
  /** Every reply is bounded: a command that waits (for a journal that cannot be applied) fails the test. */
  private static final int TIMEOUT_MILLIS = 10_000;

  private static LineClient client(TestServer s, String listener) throws IOException {
    LineClient c = new LineClient("127.0.0.1", s.port(listener));
    c.setTimeout(TIMEOUT_MILLIS);
    return c;
  }

  /** The last line of an SMTP reply (continuation lines skipped). */
  private static String smtp(LineClient c) throws IOException {
    String line;
    do {
      line = c.read();
      assertThat(line).as("an SMTP reply").isNotNull();
    } while (line.length() > 3 && line.charAt(3) == '-');
    return line;
  }

  private static String smtp(LineClient c, String command) throws IOException {
    c.send(command);
    return smtp(c);
  }

  private static LineClient smtpSession(TestServer s) throws IOException {
    LineClient c = client(s, "smtp");
    assertThat(smtp(c)).startsWith("220");
    assertThat(smtp(c, "EHLO client.example")).startsWith("250");
    return c;
  }

  /** Lines up to and including the tagged reply of {@code tag}. */
  private static List<String> imap(LineClient c, String tag, String command) throws IOException {
    c.send(tag + " " + command);
    List<String> lines = new ArrayList<>();
    String line;
    do {
      line = c.read();
      assertThat(line).as("the reply to " + command).isNotNull();
      lines.add(line);
    } while (!line.startsWith(tag + " "));
    return lines;
  }

  private static int inbox(TestServer s, String user) {
    var mail = s.services().mail();
    var a = s.services().directory().account(user).orElseThrow();
    return mail.messages(mail.mailbox(a.id(), "INBOX").orElseThrow().id()).size();
  }

  @Test
  void underTheReserveMailIsRefusedWith452AndAppendWithUnavailableWhileReadsGoOn() throws Exception {
    // A reserve larger than any disk here: the data directory's file system is "under the reserve".
    var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry(); // what an exporter would read
    io.micrometer.core.instrument.Metrics.addRegistry(registry);
    try (TestServer s = TestServer.start(c -> c.withStore(new StoreConfig(100_000_000L)))) {
      s.addUser("u@full.test", "pw-u");
      try (LineClient c = smtpSession(s)) {
        // Refused each time, and not counted as the client's errors (max_errors is 10): the session stays.
        for (int i = 0; i < 12; i++) {
          assertThat(smtp(c, "MAIL FROM:<a@sender.example>")).startsWith("452 4.3.1");
        }
        assertThat(smtp(c, "NOOP")).startsWith("250");
      }
      try (LineClient c = client(s, "imap")) {
        assertThat(c.read()).startsWith("* OK");
        assertThat(imap(c, "a", "LOGIN u@full.test pw-u").getLast()).startsWith("a OK");
        // The tagged NO comes instead of the "+" continuation (RFC 9051 §7.5): the message is never sent.
        assertThat(imap(c, "b", "APPEND INBOX {12}").getLast()).startsWith("b NO [UNAVAILABLE]");
        assertThat(imap(c, "c", "SELECT INBOX").getLast()).startsWith("c OK");
        // A non-synchronizing literal (RFC 7888) is on its way: read, then refused.
        c.raw("d APPEND INBOX {12+}\r\nSubject: x\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        String line;
        do {
          line = c.read();
        } while (!line.startsWith("d "));
        assertThat(line).startsWith("d NO [UNAVAILABLE]");
        assertThat(imap(c, "e", "NOOP").getLast()).startsWith("e OK");
      }
      assertThat(inbox(s, "u@full.test")).isZero();
      assertThat(registry.get("darwinmail.disk.full").gauge().value()).isEqualTo(1.0);
      assertThat(registry.get("darwinmail.disk.free.bytes").gauge().value()).isPositive();
    } finally {
      io.micrometer.core.instrument.Metrics.removeRegistry(registry);
    }
  }

  /**
   * The blobs cannot be written (as on a full disk; here the fan-out folders are made files, which fails even for
   * root): the applier of the intake journal cannot store a message that was acknowledged.
   */
  @Test
  void whenAcceptedMailCannotBeStoredNewMailGets452ReadsAnswerAtOnceAndItIsStoredOnceWhenItCan() throws Exception {
    try (TestServer s = TestServer.start()) {
      s.addUser("u@full.test", "pw-u");
      LineClient rcptPending = smtpSession(s);
      LineClient dataPending = smtpSession(s);
      assertThat(smtp(rcptPending, "MAIL FROM:<a@sender.example>")).startsWith("250");
      assertThat(smtp(dataPending, "MAIL FROM:<a@sender.example>")).startsWith("250");
      assertThat(smtp(dataPending, "RCPT TO:<u@full.test>")).startsWith("250");

      Path blobs = s.services().blobs().root();
      Path away = blobs.resolveSibling("blobs.away");
      Files.move(blobs, away);
      Files.createDirectories(blobs.resolve("tmp"));
      for (int i = 0; i < 256; i++) {
        Files.writeString(blobs.resolve(HexFormat.of().toHexDigits((byte) i)), "not a folder");
      }
      try (LineClient c = smtpSession(s)) {
        assertThat(smtp(c, "MAIL FROM:<a@sender.example>")).startsWith("250");
        assertThat(smtp(c, "RCPT TO:<u@full.test>")).startsWith("250");
        assertThat(smtp(c, "DATA")).startsWith("354");
        c.send("Subject: accepted while the blobs cannot be written\r\n\r\nbody\r\n.");
        assertThat(smtp(c)).startsWith("250"); // journaled: durable, stored when the blobs can be written
      }
      long deadline = System.nanoTime() + 20_000_000_000L;
      while (!s.services().blobs().capacity().full() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(s.services().blobs().capacity().full()).as("the applier cannot store: new mail is refused").isTrue();

      assertThat(smtp(rcptPending, "RCPT TO:<u@full.test>")).startsWith("452 4.3.1");
      assertThat(smtp(dataPending, "DATA")).startsWith("452 4.3.1");
      try (LineClient c = smtpSession(s)) {
        assertThat(smtp(c, "MAIL FROM:<a@sender.example>")).startsWith("452 4.3.1");
      }
      // Reads do not wait for the journal (they waited 30 s each): they show what is stored, and IMAP says so.
      try (LineClient c = client(s, "imap")) {
        assertThat(c.read()).startsWith("* OK");
        assertThat(imap(c, "a", "CAPABILITY").getLast()).startsWith("a OK");
        assertThat(imap(c, "b", "LOGIN u@full.test pw-u").getLast()).startsWith("b OK");
        List<String> select = imap(c, "c", "SELECT INBOX");
        assertThat(select).contains("* 0 EXISTS").anyMatch(l -> l.startsWith("* NO [ALERT]"));
        assertThat(select.getLast()).startsWith("c OK");
        assertThat(imap(c, "d", "LOGOUT").getLast()).startsWith("d OK");
      }
      try (LineClient c = client(s, "pop3")) {
        assertThat(c.read()).startsWith("+OK");
        c.send("USER u@full.test");
        assertThat(c.read()).startsWith("+OK");
        c.send("PASS pw-u");
        assertThat(c.read()).startsWith("+OK").contains("0 messages").contains("storage is full");
        c.send("QUIT");
        assertThat(c.read()).startsWith("+OK");
      }

      // Space comes back: no restart, the applier stores the message once, new mail is taken again.
      restore(away, blobs);
      deadline = System.nanoTime() + 30_000_000_000L;
      while ((inbox(s, "u@full.test") == 0 || s.services().blobs().capacity().full())
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(inbox(s, "u@full.test")).isEqualTo(1);
      assertThat(s.services().blobs().capacity().full()).isFalse();
      try (LineClient c = smtpSession(s)) {
        assertThat(smtp(c, "MAIL FROM:<a@sender.example>")).startsWith("250");
        assertThat(smtp(c, "RCPT TO:<u@full.test>")).startsWith("250");
        assertThat(smtp(c, "DATA")).startsWith("354");
        c.send("Subject: after\r\n\r\nbody\r\n.");
        assertThat(smtp(c)).startsWith("250");
      }
      assertThat(inbox(s, "u@full.test")).isEqualTo(2);
      rcptPending.close();
      dataPending.close();
    }
  }

  /**
   * Puts each folder of {@code away} back under {@code blobs}, replacing the file that stood in its place. The
   * applier retries meanwhile and may make a folder of that name first (it recreates a missing parent): then the
   * files are moved into it one by one (a blob's name is its content, so an existing one is the same).
   */
  private static void restore(Path away, Path blobs) throws java.io.IOException {
    try (var folders = Files.list(away)) {
      for (Path from : folders.toList()) {
        Path to = blobs.resolve(from.getFileName());
        if (Files.isRegularFile(to, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.delete(to);
        }
        try {
          Files.move(from, to);
        } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
          try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
              if (!Files.exists(to.resolve(f.getFileName()))) {
                Files.move(f, to.resolve(f.getFileName()));
              } else {
                Files.delete(f);
              }
            }
          }
          Files.delete(from);
        }
      }
    }
    Files.delete(away);
  }
}
