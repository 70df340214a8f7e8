package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.S3Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 with the bodies in a bucket ({@code [blobs] backend = "s3"}, issue 20's cluster mode on Derby): a backup
 * copies the bodies its store's bucket holds into the backup (a folder: only those the previous backup lacks are
 * downloaded; a bucket destination likewise through its staging), verify checks them by hash, and a restore puts
 * them where the restoring configuration says bodies live: uploaded to its bucket (the lost bucket's replacement),
 * or files in the data directory.
 */
class BackupS3Test {
  @TempDir Path dir;

  private final S3Server s3 = S3Server.shared();

  /** A configuration with data in {@code dir/dataDir} and the bodies in {@code bucket}. */
  private Path config(String name, String dataDir, String bucket) throws IOException {
    Path c = dir.resolve(name);
    Files.writeString(c, Files.readString(CliTest.config(dir)).replace("data_dir = \"var\"",
        "data_dir = \"" + dataDir + "\"") + "[blobs]\nbackend = \"s3\"\nendpoint = \"" + s3.endpoint()
        + "\"\nbucket = \"" + bucket + "\"\ncredentials_file = \"" + s3.credentialsFile() + "\"\npath_style = true\n"
        + "[backup.s3]\nendpoint = \"" + s3.endpoint() + "\"\ncredentials_file = \"" + s3.credentialsFile()
        + "\"\npath_style = true\n");
    return c;
  }

  private static void deliver(ServerConfig cfg, int from, int n) throws IOException {
    try (var s = DarwinMail.Services.open(cfg)) {
      if (s.directory().account("a@one.test").isEmpty()) {
        s.directory().addDomain("one.test");
        s.directory().addAccount("a@one.test", "a-password".toCharArray());
      }
      long inbox = s.mail().mailbox(s.directory().account("a@one.test").orElseThrow().id(), "INBOX").orElseThrow().id();
      for (int i = from; i < from + n; i++) {
        BlobStore.BlobWriter w = s.blobs().create();
        try (OutputStream o = w) {
          o.write(text(i).getBytes(StandardCharsets.UTF_8));
          s.mail().deliver(List.of(inbox), w.commit(), Instant.now());
        }
      }
    }
  }

  private static String text(int i) {
    return "Subject: " + i + "\r\n\r\nbody " + i + "\r\n" + (i == 2 ? "y".repeat(200_000) : "");
  }

  private static List<String> contents(ServerConfig cfg) throws IOException {
    List<String> out = new ArrayList<>();
    try (var s = DarwinMail.Services.open(cfg)) {
      long inbox = s.mail().mailbox(s.directory().account("a@one.test").orElseThrow().id(), "INBOX").orElseThrow().id();
      for (MessageRow r : s.mail().messages(inbox)) {
        try (InputStream in = s.mail().open(r)) {
          out.add(r.uid() + " " + new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
    }
    return out;
  }

  private static String sha256(String text) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
  }

  /** The blob files under {@code root/blobs/ab/}. */
  private static List<String> blobFiles(Path root) throws IOException {
    if (!Files.isDirectory(root.resolve("blobs"))) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(root.resolve("blobs"))) {
      return s.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
          .filter(n -> n.length() == 64).sorted().toList();
    }
  }

  @Test
  void bodiesInABucketAreBackedUpToAFolderVerifiedAndRestoredIntoAnotherBucket() throws Exception {
    String blobBucket = s3.newBucket();
    Path c = config("darwinmail.toml", "var", blobBucket);
    ServerConfig cfg = ConfigLoader.load(c);
    deliver(cfg, 1, 3);
    assertThat(blobFiles(cfg.dataDir())).isEmpty(); // the bodies are in the bucket only
    Path backups = dir.resolve("backups");

    String[] made = CliTest.run("", "--config", c.toString(), "backup", "create", backups.toString());
    assertThat(made[0]).as(made[2]).isEqualTo("0");
    assertThat(made[1]).contains("3 messages, 3 blobs (0 linked)");
    Path first = Path.of(made[1].lines().findFirst().orElseThrow());
    List<String> hashes = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      hashes.add(sha256(text(i)));
    }
    assertThat(blobFiles(first)).containsExactlyInAnyOrderElementsOf(hashes);
    assertThat(Files.readString(first.resolve("MANIFEST"))).contains("\nblob_backend=s3\n");

    String[] verified = CliTest.run("", "--config", c.toString(), "backup", "verify", first.toString());
    assertThat(verified[0]).as(verified[1] + verified[2]).isEqualTo("0");
    assertThat(verified[1]).contains("3 blobs, 3 messages");

    // The next backup downloads only the two new bodies: the three others are linked from the first backup.
    deliver(cfg, 4, 2);
    List<String> before = contents(cfg);
    String[] again = CliTest.run("", "--config", c.toString(), "backup", "create", backups.toString());
    assertThat(again[0]).as(again[2]).isEqualTo("0");
    assertThat(again[1]).contains("5 messages, 5 blobs (3 linked)");
    String second = Path.of(again[1].lines().findFirst().orElseThrow()).getFileName().toString();

    // The bucket is lost: the restore's configuration names a new, empty one, and the bodies go there.
    String newBucket = s3.newBucket();
    Path rc = config("restored.toml", "restored", newBucket);
    Path restored = dir.resolve("restored");
    String[] r = CliTest.run("", "--config", rc.toString(), "backup", "restore", second, "--dir", backups.toString(),
        "--to", restored.toString());
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).startsWith("restored " + second + " into " + restored + ": 5 messages, 5 blobs (5 uploaded to"
        + " bucket " + newBucket + ", 0 there already)");
    assertThat(blobFiles(restored)).isEmpty();
    for (int i = 1; i <= 5; i++) {
      assertThat(s3.bucketFolder(newBucket).resolve(sha256(text(i)))).hasContent(text(i));
    }
    assertThat(Files.readString(restored.resolve("blobs").resolve("location")).strip())
        .isEqualTo("s3 " + s3.endpoint() + " " + newBucket);
    ServerConfig restoredCfg = ConfigLoader.load(rc);
    assertThat(contents(restoredCfg)).isEqualTo(before);
    String[] v = CliTest.run("", "--config", rc.toString(), "verify");
    assertThat(v[0]).as(v[1] + v[2]).isEqualTo("0");

    // Restored with bodies in files (the default [blobs]): they go into the data directory.
    Path fc = CliTest.config(Files.createDirectories(dir.resolve("files")));
    Path filesDir = dir.resolve("files").resolve("var");
    String[] f = CliTest.run("", "--config", fc.toString(), "backup", "restore", second, "--dir",
        backups.toString(), "--to", filesDir.toString());
    assertThat(f[0]).as(f[2]).isEqualTo("0");
    assertThat(blobFiles(filesDir)).hasSize(5);
    assertThat(contents(ConfigLoader.load(fc))).isEqualTo(before);
  }

  @Test
  void bodiesInABucketAreBackedUpToABucketAndRestoredIntoTheirBucket() throws Exception {
    String blobBucket = s3.newBucket();
    Path c = config("darwinmail.toml", "var", blobBucket);
    ServerConfig cfg = ConfigLoader.load(c);
    deliver(cfg, 1, 3);
    List<String> before = contents(cfg);
    String dest = "s3://" + s3.newBucket() + "/site";
    String[] made = CliTest.run("", "--config", c.toString(), "backup", "create", dest);
    assertThat(made[0]).as(made[2]).isEqualTo("0");
    assertThat(made[1]).contains("3 messages, 3 blobs (3 uploaded, 0 in the bucket already)");
    String location = made[1].lines().findFirst().orElseThrow();

    // Restored on a new machine whose configuration names the same bucket: the bodies are there already.
    Path rc = config("restored.toml", "restored", blobBucket);
    Path restored = dir.resolve("restored");
    String[] r = CliTest.run("", "--config", rc.toString(), "backup", "restore", location, "--to",
        restored.toString());
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).contains("3 blobs (0 uploaded to bucket " + blobBucket + ", 3 there already)");
    assertThat(contents(ConfigLoader.load(rc))).isEqualTo(before);
  }

  /**
   * A bucket backup of bodies in a bucket fetches only the bodies its destination lacks: the store's bucket is
   * reached through {@link CountingProxy} (real sockets between the server's S3 client and S3Proxy), which counts
   * the GETs of bodies. The first backup fetches every body, the second only the two delivered since (it used to
   * fetch all five again, to find them in the destination and upload none); the second restores whole.
   */
  @Test
  void aBucketBackupFetchesOnlyTheBodiesItsDestinationLacks() throws Exception {
    String blobBucket = s3.newBucket();
    try (CountingProxy proxy = new CountingProxy(s3.endpoint(), blobBucket)) {
      Path c = dir.resolve("counted.toml");
      Files.writeString(c, Files.readString(config("plain.toml", "var", blobBucket)).replaceFirst(
          "\\[blobs\\]\nbackend = \"s3\"\nendpoint = \"[^\"]+\"",
          "[blobs]\nbackend = \"s3\"\nendpoint = \"" + proxy.endpoint() + "\""));
      ServerConfig cfg = ConfigLoader.load(c);
      deliver(cfg, 1, 3);
      String dest = "s3://" + s3.newBucket() + "/site";
      long before = proxy.bodyGets();
      String[] made = CliTest.run("", "--config", c.toString(), "backup", "create", dest);
      assertThat(made[0]).as(made[2]).isEqualTo("0");
      assertThat(made[1]).contains("3 messages, 3 blobs (3 uploaded, 0 in the bucket already)");
      assertThat(proxy.bodyGets() - before).isEqualTo(3);

      deliver(cfg, 4, 2);
      List<String> expected = contents(cfg);
      before = proxy.bodyGets();
      made = CliTest.run("", "--config", c.toString(), "backup", "create", dest);
      assertThat(made[0]).as(made[2]).isEqualTo("0");
      assertThat(made[1]).contains("5 messages, 5 blobs (2 uploaded, 3 in the bucket already)");
      assertThat(proxy.bodyGets() - before).isEqualTo(2);
      String location = made[1].lines().findFirst().orElseThrow();
      assertThat(CliTest.run("", "--config", c.toString(), "backup", "verify", location)[0]).isEqualTo("0");

      // Restored with the bodies as files: every one of the five comes out of the backup's bucket.
      Path rc = dir.resolve("files.toml");
      Files.writeString(rc, Files.readString(CliTest.config(dir)).replace("data_dir = \"var\"",
          "data_dir = \"restored\"") + "[backup.s3]\nendpoint = \"" + s3.endpoint() + "\"\ncredentials_file = \""
          + s3.credentialsFile() + "\"\npath_style = true\n");
      String[] r = CliTest.run("", "--config", rc.toString(), "backup", "restore", location, "--to",
          dir.resolve("restored").toString());
      assertThat(r[0]).as(r[2]).isEqualTo("0");
      assertThat(contents(ConfigLoader.load(rc))).isEqualTo(expected);
    }
  }

  /**
   * A TCP relay to S3Proxy that reads the requests going through it (HTTP/1.1, RFC 9112: a request line, header
   * lines, a body of Content-Length bytes) and counts the GETs of an object named like a body in {@code bucket}
   * (path-style: {@code GET /bucket/<sha-256>}); the answers are relayed as they come.
   */
  static final class CountingProxy implements AutoCloseable {
    private final java.net.ServerSocket server;
    private final java.net.URI target;
    private final String bucket;
    private final java.util.concurrent.atomic.AtomicLong bodyGets = new java.util.concurrent.atomic.AtomicLong();

    CountingProxy(java.net.URI target, String bucket) throws IOException {
      this.target = target;
      this.bucket = bucket;
      server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
      Thread.ofVirtual().start(this::accept);
    }

    String endpoint() {
      return "http://127.0.0.1:" + server.getLocalPort();
    }

    long bodyGets() {
      return bodyGets.get();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          java.net.Socket client = server.accept();
          java.net.Socket upstream = new java.net.Socket(target.getHost(), target.getPort());
          Thread.ofVirtual().start(() -> relay(upstream, client));
          Thread.ofVirtual().start(() -> requests(client, upstream));
        } catch (IOException e) {
          return; // closed
        }
      }
    }

    private static void relay(java.net.Socket from, java.net.Socket to) {
      try (from; to) {
        from.getInputStream().transferTo(to.getOutputStream());
      } catch (IOException e) {
        // one side closed
      }
    }

    private void requests(java.net.Socket client, java.net.Socket upstream) {
      try (client; upstream) {
        var in = new java.io.BufferedInputStream(client.getInputStream());
        OutputStream out = upstream.getOutputStream();
        while (true) {
          List<String> head = new ArrayList<>();
          long length = 0;
          for (String line; !(line = line(in)).isEmpty(); ) {
            head.add(line);
            if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
              length = Long.parseLong(line.substring(15).strip());
            }
          }
          if (head.isEmpty()) {
            return;
          }
          String[] request = head.getFirst().split(" ");
          if (request[0].equals("GET") && request[1].matches("/" + bucket + "/[0-9a-f]{64}")) {
            bodyGets.incrementAndGet();
          }
          out.write((String.join("\r\n", head) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
          byte[] buf = new byte[64 * 1024];
          for (long left = length; left > 0; ) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
              return;
            }
            out.write(buf, 0, n);
            left -= n;
          }
          out.flush();
        }
      } catch (IOException e) {
        // one side closed
      }
    }

    /** One line without its CRLF ("" at the end of the headers or of the stream), at most 64 KiB. */
    private static String line(InputStream in) throws IOException {
      StringBuilder b = new StringBuilder();
      for (int ch; (ch = in.read()) >= 0 && ch != '\n'; ) {
        if (b.length() > 65_536) {
          throw new IOException("header line too long");
        }
        if (ch != '\r') {
          b.append((char) ch);
        }
      }
      return b.toString();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
