package org.darwinmail.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.s3.S3Client;
import org.darwinmail.s3.S3Exception;
import org.darwinmail.testing.S3Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The blob contract on an S3 bucket (S3Proxy on loopback), and what only S3 does. */
class S3BlobsTest extends BlobBackendContract {
  private final List<BlobStore> opened = new ArrayList<>();
  private String bucket;

  @Override
  BlobStore open(Path root) {
    S3Server s3 = S3Server.shared();
    bucket = s3.newBucket();
    BlobStore b = new BlobStore(root, 0, new S3Blobs(new S3Client(s3.settings(bucket)), root.resolve("cache"),
        1 << 20));
    opened.add(b);
    return b;
  }

  @AfterEach
  void close() {
    opened.forEach(BlobStore::close);
  }

  @Test
  void aBlobLandsInTheBucketUnderItsHashAndNotOnTheLocalDisk() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    byte[] content = body(200_000, "remote");
    BlobRef ref = write(blobs, content);
    Path object = S3Server.shared().bucketFolder(bucket).resolve(ref.hash());
    assertArrayEquals(content, Files.readAllBytes(object));
    assertFalse(Files.exists(dir.resolve("blobs").resolve(ref.hash().substring(0, 2))));
    assertEquals(List.of(), tmpFiles());
  }

  @Test
  void theServerRefusesAnUploadWhoseDigestIsWrong() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    byte[] content = body(3000, "checked by the server");
    String wrong = sha256(body(3000, "something else"));
    assertThrows(S3Exception.class, () -> blobs.backend().write(wrong, content));
    assertFalse(blobs.exists(wrong));
    assertFalse(Files.exists(S3Server.shared().bucketFolder(bucket).resolve(wrong)));
  }

  @Test
  void theFileCacheStaysWithinItsSize() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    List<BlobRef> refs = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      refs.add(write(blobs, body(300_000, "cached " + i)));
    }
    for (BlobRef r : refs) {
      assertEquals(r.size(), Files.size(blobs.path(r.hash())));
    }
    long total = 0;
    try (var s = Files.list(dir.resolve("blobs/cache"))) {
      for (Path p : s.toList()) {
        total += Files.size(p);
      }
    }
    assertTrue(total <= 1 << 20, "cache holds " + total + " bytes");
  }
}
