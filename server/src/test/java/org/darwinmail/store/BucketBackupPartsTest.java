package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.s3.S3Client;
import org.darwinmail.testing.S3Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18: a bucket backup sends a large file in parts (S3's single PUT stops at 5 GB, and a failed request of a
 * large one starts again from nothing). Against S3Proxy, with the threshold lowered to 6 MiB and 5 MiB parts (S3's
 * smallest): a 12 MiB message restores byte for byte; a failure after the first part leaves no object, no pending
 * upload and no backup, and says so; an upload in parts a killed process left is aborted by the next backup.
 */
class BucketBackupPartsTest {
  @TempDir
  Path dir;

  private final S3Server s3 = S3Server.shared();

  @AfterEach
  void resetHooks() {
    BucketBackup.multipartAbove = BucketBackup.MULTIPART_ABOVE;
    BucketBackup.partSize = BucketBackup.PART;
    BucketBackup.afterPart = null;
  }

  private static byte[] bigMessage() {
    byte[] body = new byte[12 << 20];
    new Random(18).nextBytes(body);
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) ('a' + (body[i] & 15)); // text, in lines
      if (i % 76 == 75) {
        body[i] = '\n';
      }
    }
    byte[] head = "Subject: big\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    System.arraycopy(head, 0, body, 0, head.length);
    return body;
  }

  /** A data directory with a@one.test holding a small message and {@code big}. */
  private ServerConfig store(byte[] big) throws IOException {
    ServerConfig cfg = ServerConfig.defaults(dir.resolve("data"));
    try (var s = DarwinMail.Services.open(cfg)) {
      s.directory().addDomain("one.test");
      s.directory().addAccount("a@one.test", "a-password".toCharArray());
      long inbox = s.mail().mailbox(s.directory().account("a@one.test").orElseThrow().id(), "INBOX").orElseThrow().id();
      for (byte[] m : List.of("Subject: small\r\n\r\nhi\r\n".getBytes(), big)) {
        BlobStore.BlobWriter w = s.blobs().create();
        try (OutputStream o = w) {
          o.write(m);
          s.mail().deliver(List.of(inbox), w.commit(), Instant.now());
        }
      }
    }
    return cfg;
  }

  private static List<byte[]> contents(ServerConfig cfg) throws IOException {
    List<byte[]> out = new ArrayList<>();
    try (var s = DarwinMail.Services.open(cfg)) {
      long inbox = s.mail().mailbox(s.directory().account("a@one.test").orElseThrow().id(), "INBOX").orElseThrow().id();
      for (MessageRow r : s.mail().messages(inbox)) {
        try (InputStream in = s.mail().open(r)) {
          out.add(in.readAllBytes());
        }
      }
    }
    return out;
  }

  private static String sha256(byte[] b) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  void aLargeBodyGoesInPartsAndRestoresByteForByte() throws Exception {
    byte[] big = bigMessage();
    ServerConfig cfg = store(big);
    BucketBackup.multipartAbove = 6 << 20;
    BucketBackup.partSize = S3Client.MIN_PART;
    AtomicInteger parts = new AtomicInteger();
    BucketBackup.afterPart = (n, bytes) -> parts.incrementAndGet();
    BucketBackup.Target t = new BucketBackup.Target(s3.settings(s3.newBucket()), "site");
    BucketBackup.Uploaded u;
    try (var s = DarwinMail.Services.open(cfg)) {
      u = BucketBackup.online(s.db(), s.mail(), s.blobs(), cfg.dataDir(), t, "darwinmail", true, 0, 0);
    }
    assertThat(u.blobs()).isEqualTo(2);
    assertThat(parts.get()).as("the 12 MiB body in three parts").isGreaterThanOrEqualTo(3);
    try (S3Client c = new S3Client(t.s3())) {
      assertThat(c.listMultipartUploads("")).isEmpty();
      assertThat(c.head(t.blobKey(sha256(big))).size()).isEqualTo(big.length);
    }
    Path restored = dir.resolve("restored");
    BucketBackup.restore(t, u.name(), restored);
    List<byte[]> back = contents(ServerConfig.defaults(restored));
    assertThat(back).hasSize(2);
    assertThat(back.get(1)).isEqualTo(big);
  }

  @Test
  void aFailureInTheMiddleOfAnUploadInPartsLeavesNoObjectNoPendingUploadAndNoBackup() throws Exception {
    byte[] big = bigMessage();
    ServerConfig cfg = store(big);
    BucketBackup.multipartAbove = 6 << 20;
    BucketBackup.partSize = S3Client.MIN_PART;
    BucketBackup.afterPart = (n, bytes) -> {
      if (n == 2) {
        throw new IOException("Connection reset");
      }
    };
    BucketBackup.Target t = new BucketBackup.Target(s3.settings(s3.newBucket()), "site");
    String hash = sha256(big);
    try (var s = DarwinMail.Services.open(cfg)) {
      assertThatThrownBy(() -> BucketBackup.online(s.db(), s.mail(), s.blobs(), cfg.dataDir(), t, "darwinmail",
          false, 0, 0))
          .isInstanceOf(StoreException.class)
          .hasMessageStartingWith("cannot back up into " + t.location() + ": blobs/" + hash.substring(0, 2) + "/"
              + hash + " (" + big.length + " bytes, in parts): Connection reset; the upload was aborted, nothing more"
              + " uploaded");
    }
    try (S3Client c = new S3Client(t.s3())) {
      assertThat(c.listMultipartUploads("")).isEmpty();
      assertThat(c.head(t.blobKey(hash))).isNull();
    }
    assertThat(BucketBackup.list(t)).isEmpty(); // no MANIFEST: nothing restorable was left
  }

  @Test
  void anUploadInPartsAKilledBackupLeftIsAbortedByTheNext() throws Exception {
    ServerConfig cfg = store("Subject: x\r\n\r\nx\r\n".getBytes());
    BucketBackup.Target t = new BucketBackup.Target(s3.settings(s3.newBucket()), "site");
    try (S3Client c = new S3Client(t.s3())) {
      c.createMultipartUpload(t.key("blobs/ab/" + "ab".repeat(32)));
      c.createMultipartUpload(t.key("backups/darwinmail-x/db/seg0/c10.dat"));
      String other = c.createMultipartUpload("elsewhere/file"); // not under the prefix: not ours
      try (var s = DarwinMail.Services.open(cfg)) {
        BucketBackup.online(s.db(), s.mail(), s.blobs(), cfg.dataDir(), t, "darwinmail", false, 0, 0);
      }
      assertThat(c.listMultipartUploads("")).containsExactly(new S3Client.Upload("elsewhere/file", other));
    }
  }
}
