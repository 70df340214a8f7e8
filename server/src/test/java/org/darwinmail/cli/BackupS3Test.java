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
}
