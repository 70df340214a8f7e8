package org.darwinmail.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every blob backend must do, seen through {@link BlobStore} (STYLE.md, "Two storage engines": one test class,
 * one subclass per backend, so that a behaviour cannot drift between files and S3).
 */
abstract class BlobBackendContract {
  @TempDir Path dir;

  /** A fresh, empty store on this backend, its local folder {@code root}. */
  abstract BlobStore open(Path root) throws IOException;

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  static byte[] body(int n, String seed) {
    StringBuilder sb = new StringBuilder();
    while (sb.length() < n) {
      sb.append(seed).append(' ').append(sb.length()).append("\r\n");
    }
    return sb.substring(0, n).getBytes(StandardCharsets.US_ASCII);
  }

  static BlobRef write(BlobStore blobs, byte[] content) throws IOException {
    try (var w = blobs.create()) {
      w.write(content, 0, content.length);
      return w.commit();
    }
  }

  List<Path> tmpFiles() throws IOException {
    try (Stream<Path> s = Files.list(dir.resolve("blobs/tmp"))) {
      return s.toList();
    }
  }

  @Test
  void aCommittedBlobIsReadBackStreamedAndAsAFile() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    byte[] content = body(3 * BlobStore.SMALL + 17, "large"); // staged in tmp/, not held in memory
    BlobRef ref = write(blobs, content);
    assertEquals(new BlobRef(sha256(content), content.length), ref);
    try (InputStream in = blobs.open(ref.hash())) {
      assertArrayEquals(content, in.readAllBytes());
    }
    assertArrayEquals(content, Files.readAllBytes(blobs.path(ref.hash())));
    assertTrue(blobs.exists(ref.hash()));
    assertEquals(List.of(), tmpFiles());
  }

  @Test
  void aSmallBlobHeldInMemoryIsStoredAndRepaired() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    byte[] content = body(5000, "journaled");
    BlobStore.Small small = new BlobStore.Small(sha256(content), content);
    assertEquals(small.ref(), blobs.storeUnforced(small));
    blobs.force(small.hash());
    try (InputStream in = blobs.open(small.hash())) {
      assertArrayEquals(content, in.readAllBytes());
    }
    // Gone (as after a crash before it was forced): repair writes it again.
    assertEquals(BlobStore.Collected.DELETED, blobs.collect(small.hash(), h -> false, Duration.ZERO));
    assertFalse(blobs.exists(small.hash()));
    blobs.repair(small);
    try (InputStream in = blobs.open(small.hash())) {
      assertArrayEquals(content, in.readAllBytes());
    }
  }

  @Test
  void theSameContentTwiceIsOneBlobAndStaysWhole() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    byte[] content = body(100_000, "twice");
    BlobRef a = write(blobs, content);
    BlobRef b = write(blobs, content);
    assertEquals(a, b);
    BlobStore.Small small = new BlobStore.Small(a.hash(), content);
    assertEquals(a, blobs.storeUnforced(small));
    assertEquals(a, blobs.store(small));
    try (InputStream in = blobs.open(a.hash())) {
      assertArrayEquals(content, in.readAllBytes());
    }
    assertEquals(List.of(), tmpFiles());
  }

  @Test
  void contentThatDoesNotMatchItsHashIsRefusedUnderThatHash() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    byte[] content = body(2000, "real");
    String other = sha256(body(2000, "other"));
    assertThrows(IOException.class, () -> blobs.store(new BlobStore.Small(other, content)));
    assertFalse(blobs.exists(other));
  }

  @Test
  void aMissingBlobIsNotThereAndCannotBeClaimed() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    String missing = sha256("never stored".getBytes(StandardCharsets.US_ASCII));
    assertFalse(blobs.exists(missing));
    assertThrows(NoSuchFileException.class, () -> blobs.open(missing).close());
    assertThrows(BlobStore.Missing.class, () -> blobs.claim(List.of(missing)));
    assertEquals(BlobStore.Collected.DELETED, blobs.collect(missing, h -> false, Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> blobs.open("../../etc/passwd"));
  }

  @Test
  void collectionDeletesOnlyWhatIsUnreferencedUnclaimedAndPastItsGrace() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    BlobRef ref = write(blobs, body(70_000, "collect"));
    String h = ref.hash();
    assertEquals(BlobStore.Collected.BUSY, blobs.collect(h, x -> false, Duration.ofMinutes(1)));
    try (BlobStore.Claim c = blobs.claim(List.of(h))) {
      assertEquals(BlobStore.Collected.BUSY, blobs.collect(h, x -> false, Duration.ZERO));
    }
    assertEquals(BlobStore.Collected.REFERENCED, blobs.collect(h, x -> true, Duration.ZERO));
    assertEquals(BlobStore.Collected.DELETED, blobs.collect(h, x -> false, Duration.ZERO));
    assertFalse(blobs.exists(h));
    assertThrows(NoSuchFileException.class, () -> blobs.open(h).close());
  }

  @Test
  void theSweepListsEveryBlobAndRemovesTheUnreferencedAndStaleTemporaryFiles() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    BlobRef kept = write(blobs, body(1000, "kept"));
    BlobRef orphan1 = write(blobs, body(90_000, "orphan one"));
    BlobRef orphan2 = blobs.storeUnforced(new BlobStore.Small(sha256(body(10, "orphan 2")), body(10, "orphan 2")));
    Files.write(dir.resolve("blobs/tmp/left-by-a-crash.tmp"), new byte[] {1, 2, 3});
    Set<String> referenced = Set.of(kept.hash());
    assertEquals(3, blobs.sweep(referenced::contains, Duration.ZERO));
    assertTrue(blobs.exists(kept.hash()));
    assertFalse(blobs.exists(orphan1.hash()));
    assertFalse(blobs.exists(orphan2.hash()));
    assertEquals(List.of(), tmpFiles());
    assertEquals(0, blobs.sweep(referenced::contains, Duration.ZERO));
    // Nothing younger than minAge goes.
    BlobRef young = write(blobs, body(500, "young"));
    assertEquals(0, blobs.sweep(x -> false, Duration.ofMinutes(5)));
    assertTrue(blobs.exists(young.hash()));
  }

  /**
   * The start's sweep on a large store: what is in use is read a range of hashes at a time, each range once as the
   * backend lists its blobs, and only a blob not found there is asked about alone (then collected under its lock).
   */
  @Test
  void theSweepReadsWhatIsInUseARangeAtATimeAndAsksOnlyAboutTheRest() throws Exception {
    BlobStore blobs = open(dir.resolve("blobs"));
    Set<String> inUse = new java.util.HashSet<>();
    for (int i = 0; i < 60; i++) {
      inUse.add(write(blobs, body(100 + i, "in use " + i)).hash());
    }
    BlobRef orphan = write(blobs, body(200, "an orphan"));
    BlobRef journaled = write(blobs, body(300, "journaled, not stored yet"));
    java.util.Map<String, Integer> ranges = new java.util.HashMap<>();
    List<String> asked = new java.util.ArrayList<>();
    int removed = blobs.sweep(h -> {
      asked.add(h);
      return inUse.contains(h) || h.equals(journaled.hash());
    }, prefix -> {
      ranges.merge(prefix, 1, Integer::sum);
      return inUse.stream().filter(h -> h.startsWith(prefix)).collect(java.util.stream.Collectors.toSet());
    }, java.time.Instant.now());
    assertEquals(1, removed);
    assertFalse(blobs.exists(orphan.hash()));
    assertTrue(blobs.exists(journaled.hash()), "a blob the ranges lack but the per-blob check keeps stays");
    assertTrue(inUse.stream().allMatch(blobs::exists));
    assertTrue(ranges.values().stream().allMatch(n -> n == 1), "each range read once: " + ranges);
    assertEquals(Set.of(orphan.hash(), journaled.hash()), Set.copyOf(asked), "only the blobs not in their range");
  }
}
