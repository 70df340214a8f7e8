package org.darwinmail.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlobStoreTest {
  @TempDir Path dir;

  private static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  private static byte[] body(int n, String seed) {
    StringBuilder sb = new StringBuilder();
    while (sb.length() < n) {
      sb.append(seed).append(' ').append(sb.length()).append("\r\n");
    }
    return sb.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private List<Path> tmpFiles() throws IOException {
    try (Stream<Path> s = Files.list(dir.resolve("blobs/tmp"))) {
      return s.toList();
    }
  }

  @Test
  void aCommittedBlobIsStoredUnderItsHashAndNothingIsLeftInTmp() throws Exception {
    BlobStore blobs = new BlobStore(dir.resolve("blobs"));
    byte[] content = body(200_000, "hello");
    BlobRef ref;
    try (var w = blobs.create()) {
      w.write(content, 0, 1000);
      w.write(java.nio.ByteBuffer.wrap(content, 1000, content.length - 1000));
      ref = w.commit();
    }
    assertEquals(sha256(content), ref.hash());
    assertEquals(content.length, ref.size());
    assertArrayEquals(content, Files.readAllBytes(blobs.path(ref.hash())));
    assertEquals(List.of(), tmpFiles());
  }

  @Test
  void anUnforcedStoreWritesUnderTheHashAndMendsAWrongSizedFile() throws Exception {
    BlobStore blobs = new BlobStore(dir.resolve("blobs"));
    byte[] content = body(10_000, "journaled");
    BlobStore.Small small = new BlobStore.Small(sha256(content), content);
    Path file = blobs.path(small.hash());
    assertEquals(small.ref(), blobs.storeUnforced(small));
    assertArrayEquals(content, Files.readAllBytes(file));
    // Left short or long by a crash: the next store writes the whole content, at its size.
    Files.write(file, java.util.Arrays.copyOf(content, 4096));
    blobs.storeUnforced(small);
    assertArrayEquals(content, Files.readAllBytes(file));
    Files.write(file, java.util.Arrays.copyOf(content, 12_000));
    blobs.storeUnforced(small);
    assertArrayEquals(content, Files.readAllBytes(file));
    // A fan-out folder removed by hand is made again.
    Files.delete(file);
    Files.delete(file.getParent());
    blobs.storeUnforced(small);
    assertArrayEquals(content, Files.readAllBytes(file));
    assertEquals(List.of(), tmpFiles());
  }

  @Test
  void concurrentWritersOfTheSameContentAllGetTheWholeFile() throws Exception {
    BlobStore blobs = new BlobStore(dir.resolve("blobs"));
    byte[] same = body(64 * 1024 + 7, "same");
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      for (int round = 0; round < 20; round++) {
        byte[] content = (round + ":").getBytes(StandardCharsets.US_ASCII);
        byte[] whole = new byte[content.length + same.length];
        System.arraycopy(content, 0, whole, 0, content.length);
        System.arraycopy(same, 0, whole, content.length, same.length);
        List<Future<BlobRef>> refs = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          refs.add(pool.submit(() -> {
            try (var w = blobs.create()) {
              for (int off = 0; off < whole.length; off += 4096) {
                w.write(whole, off, Math.min(4096, whole.length - off));
              }
              return w.commit();
            }
          }));
        }
        for (Future<BlobRef> f : refs) {
          BlobRef ref = f.get();
          assertEquals(sha256(whole), ref.hash());
          assertArrayEquals(whole, Files.readAllBytes(blobs.path(ref.hash())));
        }
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(List.of(), tmpFiles());
  }

  @Test
  void aTornFileUnderTheHashIsReplacedNotTakenForTheStoredCopy() throws Exception {
    BlobStore blobs = new BlobStore(dir.resolve("blobs"));
    byte[] content = body(50_000, "torn");
    String hash = sha256(content);
    // What a power loss can leave of a name renamed but never forced: the name, without all of its data.
    Files.write(blobs.path(hash), java.util.Arrays.copyOf(content, 4096));
    BlobRef ref;
    try (var w = blobs.create()) {
      w.write(content, 0, content.length);
      ref = w.commit();
    }
    assertEquals(hash, ref.hash());
    assertArrayEquals(content, Files.readAllBytes(blobs.path(hash)));
    Files.write(blobs.path(hash), new byte[0]);
    try (var w = blobs.create()) {
      w.write(content, 0, content.length);
      w.commit();
    }
    assertArrayEquals(content, Files.readAllBytes(blobs.path(hash)));
  }

  @Test
  void anAbortedBlobLeavesNothing() throws Exception {
    BlobStore blobs = new BlobStore(dir.resolve("blobs"));
    byte[] content = body(10_000, "aborted");
    try (var w = blobs.create()) {
      w.write(content, 0, content.length);
      w.stage();
      w.abort();
    }
    assertEquals(List.of(), tmpFiles());
    assertFalse(blobs.exists(sha256(content)));
  }
}
