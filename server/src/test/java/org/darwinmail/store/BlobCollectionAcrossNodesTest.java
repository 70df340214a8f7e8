package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.darwinmail.s3.S3Client;
import org.darwinmail.testing.PostgresCluster;
import org.darwinmail.testing.S3Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes' blob stores on one S3 bucket (S3Proxy) and one PostgreSQL database, as two servers have them (issue 20;
 * BlobStore, "Several nodes"): a node's collector must never delete an object another node has claimed for a row it
 * is about to commit, even when that node has just uploaded the same content again. Each node has its own process
 * state (locks, claims, what it uploaded recently) and its own cluster locks' connection, as a server has.
 */
class BlobCollectionAcrossNodesTest {
  /** The collector's grace period, off: the race is about what happens after it has passed. */
  private static final Duration NO_GRACE = Duration.ZERO;

  @TempDir
  Path dir;
  private final List<AutoCloseable> open = new ArrayList<>();

  private BlobStore node(String name, String url, String bucket) {
    PostgresCluster pg = PostgresCluster.shared();
    PostgresDatabase db = PostgresDatabase.open(url, PostgresCluster.USER, pg.password(), 2);
    open.add(0, db);
    Path root = dir.resolve(name);
    BlobStore blobs = new BlobStore(root, 0, new S3Blobs(new S3Client(S3Server.shared().settings(bucket)),
        root.resolve("cache"), 1 << 20, true));
    blobs.shareClaims(ClusterLocks.open(db));
    open.add(0, blobs::close);
    return blobs;
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  /**
   * Node A's collector has found the blob old and unreferenced and is about to delete it when node B uploads the
   * same content again and claims it for its row (not committed yet). Before the claims were shared, A deleted the
   * object under B's claim and B's row then referred to nothing. Now B's claim waits for A's collection: it then finds
   * the object gone (Missing: its writer writes it again), or A's collector, coming second, leaves it alone. Either
   * way, while B holds a claim, the object is in the bucket.
   */
  @Test
  void aCollectorNeverDeletesWhatAnotherNodeJustReUploadedAndClaimed() throws Exception {
    String url = PostgresCluster.shared().newDatabase();
    String bucket = S3Server.shared().newBucket();
    BlobStore a = node("a", url, bucket);
    BlobStore b = node("b", url, bucket);
    byte[] content = BlobBackendContract.body(5000, "delivered twice, once on each node");
    String hash = BlobBackendContract.write(a, content).hash(); // A's message, since expunged

    List<CompletableFuture<BlobStore.Claim>> bClaims = new ArrayList<>();
    a.collectionHook = () -> {
      // A has read the object as old and unreferenced. B delivers the same content now: upload, then claim.
      try {
        BlobBackendContract.write(b, content);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      CompletableFuture<BlobStore.Claim> claim = CompletableFuture.supplyAsync(() -> b.claim(List.of(hash)));
      bClaims.add(claim);
      try {
        claim.get(2, TimeUnit.SECONDS); // done at once when nothing stops it; waiting on A's collection otherwise
      } catch (TimeoutException e) {
        // B waits for A's collection to end
      } catch (InterruptedException | ExecutionException e) {
        throw new AssertionError(e);
      }
    };
    BlobStore.Collected first = a.collect(hash, h -> false, NO_GRACE); // no row refers to it (B's is not committed)
    a.collectionHook = () -> {};
    assertThat(bClaims).hasSize(1);

    BlobStore.Claim held;
    try {
      held = bClaims.get(0).get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      // A's collection came first: B's claim finds the object gone, and its writer writes it again (as Intake does)
      assertThat(e.getCause()).isInstanceOf(BlobStore.Missing.class);
      assertThat(first).isEqualTo(BlobStore.Collected.DELETED);
      BlobBackendContract.write(b, content);
      held = b.claim(List.of(hash));
    }
    try (BlobStore.Claim claim = held) {
      assertThat(b.exists(hash)).as("a blob another node claims is in the bucket").isTrue();
      assertThat(a.exists(hash)).isTrue();
      // A's collector comes back while B's row is still uncommitted: the blob is left alone.
      assertThat(a.collect(hash, h -> false, NO_GRACE)).isEqualTo(BlobStore.Collected.BUSY);
      assertThat(b.exists(hash)).isTrue();
    }
    // B's row committed, its claim closed: A sees the reference.
    assertThat(a.collect(hash, h -> true, NO_GRACE)).isEqualTo(BlobStore.Collected.REFERENCED);
    try (var in = b.open(hash)) {
      assertThat(in.readAllBytes()).isEqualTo(content);
    }
  }

  /** A claim held on node B keeps node A's collector off the blob; once closed, A may collect it. */
  @Test
  void aClaimOnOneNodeHoldsOffTheCollectorOfAnother() throws Exception {
    String url = PostgresCluster.shared().newDatabase();
    String bucket = S3Server.shared().newBucket();
    BlobStore a = node("a", url, bucket);
    BlobStore b = node("b", url, bucket);
    byte[] content = BlobBackendContract.body(3000, "claimed on b");
    String hash = BlobBackendContract.write(b, content).hash();
    try (BlobStore.Claim claim = b.claim(List.of(hash))) {
      assertThat(a.collect(hash, h -> false, NO_GRACE)).isEqualTo(BlobStore.Collected.BUSY);
      assertThat(b.exists(hash)).isTrue();
    }
    assertThat(a.collect(hash, h -> false, NO_GRACE)).isEqualTo(BlobStore.Collected.DELETED);
    assertThat(b.exists(hash)).isFalse();
  }
}
