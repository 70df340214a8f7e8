package org.darwinmail.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.darwinmail.testing.S3Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Uploads in parts (S3 API reference: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, ListMultipartUploads) against S3Proxy: a file of three parts read back byte for byte, and a
 * failed upload that leaves neither an object nor a pending upload.
 */
class S3ClientMultipartTest {
  static S3Server s3;
  static S3Client client;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    s3 = S3Server.shared();
    client = new S3Client(s3.settings(s3.newBucket()));
  }

  @AfterAll
  static void stop() {
    client.close();
  }

  /** 11 MiB and 3 bytes: two parts of 5 MiB and a last one of 1 MiB + 3. */
  private Path bigFile() throws IOException {
    byte[] b = new byte[(11 << 20) + 3];
    new Random(7).nextBytes(b);
    Path f = dir.resolve("big");
    Files.write(f, b);
    return f;
  }

  private static byte[] sha256(Path f) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f));
  }

  @Test
  void aFileInThreePartsIsReadBackByteForByteAndNoUploadStaysPending() throws Exception {
    Path f = bigFile();
    List<Integer> parts = new ArrayList<>();
    byte[] hash = client.putMultipart("mp1/big", f, Files.size(f), S3Client.MIN_PART, sha256(f),
        (n, bytes) -> parts.add(n));
    assertThat(hash).isEqualTo(sha256(f));
    assertThat(parts).containsExactly(1, 2, 3);
    try (InputStream in = client.get("mp1/big")) {
      assertThat(in.readAllBytes()).isEqualTo(Files.readAllBytes(f));
    }
    assertThat(client.head("mp1/big").size()).isEqualTo(Files.size(f));
    assertThat(client.listMultipartUploads("mp1/")).isEmpty();
  }

  @Test
  void aFailureAfterThePartsStartedAbortsTheUpload() throws Exception {
    Path f = bigFile();
    assertThatThrownBy(() -> client.putMultipart("mp2/failed", f, Files.size(f), S3Client.MIN_PART, sha256(f),
        (n, bytes) -> {
          // While the upload is under way, S3 lists it; after the failure it must not.
          assertThat(client.listMultipartUploads("mp2/failed")).extracting(S3Client.Upload::key)
              .containsExactly("mp2/failed");
          if (n == 2) {
            throw new IOException("the link went down");
          }
        })).hasMessage("the link went down");
    assertThat(client.head("mp2/failed")).isNull();
    assertThat(client.listMultipartUploads("mp2/")).isEmpty();
    // Nor are its parts kept anywhere in the bucket (S3Proxy's filesystem back end: a file per object or part).
    try (var files = Files.walk(s3.bucketFolder(client.settings().bucket()))) {
      assertThat(files.filter(Files::isRegularFile).map(Path::toString)).noneMatch(p -> p.contains("failed"));
    }
  }

  @Test
  void aFileThatDoesNotHashToTheExpectedDigestIsNeverCompleted() throws Exception {
    Path f = bigFile();
    byte[] wrong = new byte[32];
    assertThatThrownBy(() -> client.putMultipart("mp3/changed", f, Files.size(f), S3Client.MIN_PART, wrong, null))
        .hasMessageContaining("changed while uploaded");
    assertThat(client.head("mp3/changed")).isNull();
    assertThat(client.listMultipartUploads("mp3/")).isEmpty();
  }

  @Test
  void anUploadLeftPendingIsListedAndAborted() throws Exception {
    String id = client.createMultipartUpload("mp4/left");
    assertThat(client.listMultipartUploads("mp4/left")).containsExactly(new S3Client.Upload("mp4/left", id));
    client.abortMultipartUpload("mp4/left", id);
    assertThat(client.listMultipartUploads("mp4/left")).isEmpty();
    client.abortMultipartUpload("mp4/left", id); // gone already: no error
  }

  /**
   * Figures, not a check of speed: a file of {@code darwin.multipartMiB} MiB (default 24) in 16 MiB parts, and in one
   * PUT, each read back whole. README, "Backups in a bucket".
   */
  @Test
  void throughputOfALargeFileInPartsAndInOnePut() throws Exception {
    long mib = Long.getLong("darwin.multipartMiB", 24);
    Path f = dir.resolve("large");
    byte[] chunk = new byte[1 << 20];
    new Random(5).nextBytes(chunk);
    try (var out = Files.newOutputStream(f)) {
      for (long i = 0; i < mib; i++) {
        out.write(chunk);
      }
    }
    byte[] sha = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f));
    byte[] md5 = MessageDigest.getInstance("MD5").digest(Files.readAllBytes(f));
    long t0 = System.nanoTime();
    client.putMultipart("mp5/parts", f, Files.size(f), 16L << 20, sha, null);
    long t1 = System.nanoTime();
    assertThat(client.head("mp5/parts").size()).isEqualTo(Files.size(f));
    System.out.printf("%d MiB in 16 MiB parts: %.2f s (%.0f MB/s)%n", mib, (t1 - t0) / 1e9,
        Files.size(f) / 1e6 / ((t1 - t0) / 1e9));
    try {
      client.put("mp5/whole", f, sha, md5, Files.size(f));
      long t2 = System.nanoTime();
      assertThat(client.head("mp5/whole").size()).isEqualTo(Files.size(f));
      System.out.printf("%d MiB in one PUT: %.2f s (%.0f MB/s)%n", mib, (t2 - t1) / 1e9,
          Files.size(f) / 1e6 / ((t2 - t1) / 1e9));
    } catch (S3Exception e) {
      if (mib <= 64) {
        throw e;
      }
      System.out.println(mib + " MiB in one PUT: failed after " + (System.nanoTime() - t1) / 1_000_000_000 + " s: "
          + e.getMessage());
    }
  }
}
