package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.darwinmail.config.BlobsConfig;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.config.StoreConfig;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.S3Server;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole server with {@code [blobs] backend = "s3"} (S3Proxy on loopback): mail received over SMTP is read back
 * over IMAP byte for byte, from a body stored in the bucket under its hash and nowhere on the local disk, before
 * and after a restart (which empties the local cache), and over POP3 from the checked local copy.
 */
class S3BlobsServerTest {
  private static final Pattern LITERAL = Pattern.compile("^\\* \\d+ FETCH \\(.*BODY\\[\\] \\{(\\d+)\\}$");

  static BlobsConfig s3Blobs(S3Server s3, String bucket) {
    return new BlobsConfig("s3", s3.endpoint().toString(), bucket, null, s3.credentialsFile().toString(), true, null);
  }

  @Test
  void mailReceivedOverSmtpIsReadBackOverImapFromTheBucket() throws Exception {
    S3Server s3 = S3Server.shared();
    String bucket = s3.newBucket();
    try (TestServer server = TestServer.start(c -> c.withBlobs(s3Blobs(s3, bucket)))) {
      server.addUser("reader@s3.test", "reader-pw");
      // One small (the intake journal's path, at most 64 KiB) and one large (staged, above IMAP's 256 KiB stream).
      String small = message("small", 2_000);
      String large = message("large", 400_000);
      smtp(server.port("smtp"), small);
      smtp(server.port("smtp"), large);
      List<byte[]> got = fetchAll(server.port("imap"));
      assertThat(got).hasSize(2);
      // UID order need not be the order of the 250s: the small one's rows are written by the journal's applier,
      // the large one's by its own session, so the large one may get UID 1.
      boolean smallFirst = new String(got.get(0), StandardCharsets.US_ASCII).endsWith(small);
      for (int i = 0; i < 2; i++) {
        byte[] msg = got.get(i);
        String sent = (i == 0) == smallFirst ? small : large;
        assertThat(new String(msg, StandardCharsets.US_ASCII)).endsWith(sent); // after the server's own headers
        String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(msg));
        assertThat(s3.bucketFolder(bucket).resolve(hash)).hasBinaryContent(msg);
      }
      assertThat(localBlobs(server.dataDir().resolve("blobs"))).isEmpty();

      server.restart();
      List<byte[]> again = fetchAll(server.port("imap"));
      assertThat(again).hasSize(2);
      assertThat(again.get(0)).isEqualTo(got.get(0));
      assertThat(again.get(1)).isEqualTo(got.get(1));
      // POP3's RETR reads a file: the checked local copy (the cache was emptied by the restart).
      assertThat(pop3Retr(server.port("pop3"), 2)).isEqualTo(got.get(1));
      assertThat(pop3Retr(server.port("pop3"), 1)).isEqualTo(got.get(0));
    }
  }

  @Test
  void aDataDirectoryWhoseBodiesAreInTheBucketDoesNotStartAsFilesNorOnAnotherBucket(@TempDir Path dir) {
    S3Server s3 = S3Server.shared();
    String bucket = s3.newBucket();
    ServerConfig onS3 = ServerConfig.defaults(dir).withHostname("mx.test").withListen(ListenConfig.ephemeral())
        .withStore(new StoreConfig(16L)).withBlobs(s3Blobs(s3, bucket));
    org.darwinmail.DarwinMail.start(onS3).close();
    assertThatThrownBy(() -> org.darwinmail.DarwinMail.start(onS3.withBlobs(BlobsConfig.defaults())))
        .hasMessageContaining("the data directory (backend \"files\")").hasMessageContaining(bucket);
    assertThatThrownBy(() -> org.darwinmail.DarwinMail.start(onS3.withBlobs(s3Blobs(s3, s3.newBucket()))))
        .hasMessageContaining(bucket);
    org.darwinmail.DarwinMail.start(onS3).close(); // the same [blobs] still starts
  }

  @Test
  void aBucketThatCannotBeListedStopsTheStartInOneLine(@TempDir Path dir) {
    S3Server s3 = S3Server.shared();
    ServerConfig c = ServerConfig.defaults(dir).withHostname("mx.test").withListen(ListenConfig.ephemeral())
        .withStore(new StoreConfig(16L)).withBlobs(s3Blobs(s3, "no-such-bucket"));
    assertThatThrownBy(() -> org.darwinmail.DarwinMail.start(c)).hasMessageContaining("cannot list bucket")
        .hasMessageContaining("NoSuchBucket");
  }

  private static String message(String subject, int size) {
    StringBuilder sb = new StringBuilder("From: sender@example.test\r\nTo: reader@s3.test\r\nSubject: " + subject
        + "\r\nMessage-ID: <" + subject + "@example.test>\r\n\r\n");
    for (int i = 0; sb.length() < size; i++) {
      sb.append("line ").append(i).append(" of the ").append(subject).append(" message, in a bucket\r\n");
    }
    return sb.toString();
  }

  private static void smtp(int port, String message) throws IOException {
    try (LineClient c = new LineClient("127.0.0.1", port)) {
      expect(c.read(), "220");
      c.send("EHLO client.example.test");
      String l;
      do {
        l = c.read();
      } while (l.startsWith("250-"));
      expect(l, "250");
      c.send("MAIL FROM:<sender@example.test>");
      expect(c.read(), "250");
      c.send("RCPT TO:<reader@s3.test>");
      expect(c.read(), "250");
      c.send("DATA");
      expect(c.read(), "354");
      c.raw((message + ".\r\n").getBytes(StandardCharsets.US_ASCII)); // no line starts with a dot
      expect(c.read(), "250");
      c.send("QUIT");
    }
  }

  private static List<byte[]> fetchAll(int port) throws IOException {
    List<byte[]> out = new ArrayList<>();
    try (LineClient c = new LineClient("127.0.0.1", port)) {
      c.read();
      c.send("a LOGIN reader@s3.test reader-pw");
      untilTagged(c, "a");
      c.send("b SELECT INBOX");
      untilTagged(c, "b");
      c.send("c UID FETCH 1:* BODY.PEEK[]");
      String l;
      while (!(l = c.read()).startsWith("c ")) {
        Matcher m = LITERAL.matcher(l);
        if (m.matches()) {
          out.add(c.readBytes(Integer.parseInt(m.group(1))));
        }
      }
      expect(l, "c OK");
    }
    return out;
  }

  /** RETR n over POP3, the answer's lines joined again (no line of these messages starts with a dot). */
  private static byte[] pop3Retr(int port, int n) throws IOException {
    try (LineClient c = new LineClient("127.0.0.1", port)) {
      expect(c.read(), "+OK");
      c.send("USER reader@s3.test");
      expect(c.read(), "+OK");
      c.send("PASS reader-pw");
      expect(c.read(), "+OK");
      c.send("RETR " + n);
      expect(c.read(), "+OK");
      StringBuilder sb = new StringBuilder();
      String l;
      while (!(l = c.read()).equals(".")) {
        sb.append(l).append("\r\n");
      }
      c.send("QUIT");
      expect(c.read(), "+OK"); // the maildrop lock is released before this answer (RFC 1939 §6), not before
      return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    }
  }

  private static void untilTagged(LineClient c, String tag) throws IOException {
    String l;
    while (!(l = c.read()).startsWith(tag + " ")) {
      // untagged
    }
    expect(l, tag + " OK");
  }

  private static void expect(String line, String prefix) {
    assertThat(line).startsWith(prefix);
  }

  private static List<Path> localBlobs(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().length() == 64)
          .filter(p -> !p.getParent().getFileName().toString().equals("cache")).toList();
    }
  }

}
