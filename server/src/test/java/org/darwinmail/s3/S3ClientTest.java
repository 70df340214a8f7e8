package org.darwinmail.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.S3Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The S3 client against a real S3 API (S3Proxy on loopback). */
class S3ClientTest {
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

  static byte[] digest(String alg, byte[] b) throws Exception {
    return MessageDigest.getInstance(alg).digest(b);
  }

  @Test
  void aPutObjectIsReadBackStreamedAndHeadTellsItsSize() throws Exception {
    byte[] body = "Subject: hi\r\n\r\nhello\r\n".repeat(10_000).getBytes(StandardCharsets.US_ASCII);
    Path f = dir.resolve("f");
    Files.write(f, body);
    client.put("obj-file", f, digest("SHA-256", body), digest("MD5", body), body.length);
    try (InputStream in = client.get("obj-file")) {
      assertArrayEquals(body, in.readAllBytes());
    }
    S3Client.Head h = client.head("obj-file");
    assertEquals(body.length, h.size());
    assertNotNull(h.lastModified());
    client.delete("obj-file");
    assertNull(client.head("obj-file"));
    assertThrows(NoSuchFileException.class, () -> client.get("obj-file"));
    client.delete("obj-file"); // a missing key: no error
  }

  @Test
  void aBodyThatDoesNotMatchItsDigestIsRefusedAndNothingIsStored() throws Exception {
    byte[] body = "the real content".getBytes(StandardCharsets.US_ASCII);
    byte[] other = "a damaged content".getBytes(StandardCharsets.US_ASCII);
    S3Exception e = assertThrows(S3Exception.class,
        () -> client.put("damaged", body, digest("SHA-256", other), digest("MD5", other)));
    assertEquals(4, e.status() / 100, e.getMessage());
    assertNull(client.head("damaged"));
    // Either digest alone is checked: the SHA-256 signed in x-amz-content-sha256, and Content-MD5.
    assertThrows(S3Exception.class, () -> client.put("damaged", body, digest("SHA-256", other), digest("MD5", body)));
    assertNull(client.head("damaged"));
    assertThrows(S3Exception.class, () -> client.put("damaged", body, digest("SHA-256", body), digest("MD5", other)));
    assertNull(client.head("damaged"));
  }

  @Test
  void aWrongSecretIsRefused() throws Exception {
    S3Client.Settings good = client.settings();
    try (S3Client bad = new S3Client(new S3Client.Settings(good.endpoint(), good.bucket(), good.region(), true,
        new Credentials(good.credentials().accessKey(), "not-the-secret"), good.timeout()))) {
      S3Exception e = assertThrows(S3Exception.class, () -> bad.head("x").size());
      assertEquals(403, e.status());
    }
  }

  @Test
  void aListingFollowsItsContinuationTokens() throws Exception {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 1005; i++) {
      String k = String.format("list/%04d", i);
      byte[] b = k.getBytes(StandardCharsets.US_ASCII);
      client.put(k, b, digest("SHA-256", b), digest("MD5", b));
      keys.add(k);
    }
    List<String> seen = new ArrayList<>();
    int pages = 0;
    String token = null;
    do {
      S3Client.Listing l = client.list("list/", token);
      l.entries().forEach(e -> seen.add(e.key()));
      token = l.next();
      pages++;
    } while (token != null);
    assertEquals(keys, seen);
    assertTrue(pages >= 2, "pages: " + pages);
  }

  @Test
  void aListingIsParsedWithoutItsDoctypeOrEntities() {
    byte[] evil = ("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
        + "<ListBucketResult><Contents><Key>&e;</Key></Contents></ListBucketResult>").getBytes(StandardCharsets.UTF_8);
    assertThrows(java.io.IOException.class, () -> S3Client.parseListing(evil));
  }
}
