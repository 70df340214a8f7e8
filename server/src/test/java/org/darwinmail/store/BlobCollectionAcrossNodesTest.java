package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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
    return server(name, url, bucket).blobs();
  }

  /** A node's database pool and blob store, sharing claims as a server's do. */
  private record Node(PostgresDatabase db, BlobStore blobs) {}

  private Node server(String name, String url, String bucket) {
    PostgresCluster pg = PostgresCluster.shared();
    PostgresDatabase db = PostgresDatabase.open(url, PostgresCluster.USER, pg.password(), 2);
    open.add(0, db);
    Path root = dir.resolve(name);
    BlobStore blobs = new BlobStore(root, 0, new S3Blobs(new S3Client(S3Server.shared().settings(bucket)),
        root.resolve("cache"), 1 << 20, true));
    blobs.shareClaims(ClusterLocks.open(db));
    open.add(0, blobs::close);
    return new Node(db, blobs);
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

  /**
   * A second delivery of the same content on node B while B's first one holds its claim: the second writer's commit
   * (a re-use, claimed in this process only until settled) must not release the first one's cluster lock. It did,
   * and node A's collector then deleted the blob under B's claim.
   */
  @Test
  void writingTheSameContentAgainKeepsAnotherWritersClaim() throws Exception {
    String url = PostgresCluster.shared().newDatabase();
    String bucket = S3Server.shared().newBucket();
    BlobStore a = node("a", url, bucket);
    BlobStore b = node("b", url, bucket);
    byte[] content = BlobBackendContract.body(3000, "delivered twice on b at once");
    String hash = BlobBackendContract.write(b, content).hash();
    try (BlobStore.Claim claim = b.claim(List.of(hash))) {
      BlobBackendContract.write(b, content); // the second delivery, its row not claimed yet
      assertThat(a.collect(hash, h -> false, NO_GRACE)).isEqualTo(BlobStore.Collected.BUSY);
      assertThat(b.exists(hash)).isTrue();
    }
  }

  /**
   * The locks' connection of node A breaks (PostgreSQL ended its backend: a restart, a network cut, an idle kill)
   * while A holds a claim on a message's blob for its row, not committed yet. PostgreSQL freed the claim's lock with
   * the connection, and node B's collector, finding the blob old and unreferenced, deletes it. Before the fence, A's
   * row then committed on its pool's connection (a different one, unharmed) and the delivery succeeded: a message
   * acknowledged whose body was gone. Now A's delivery fails (temporarily: written again, it is stored), and every
   * message in the mailbox can be read.
   */
  @Test
  void aRowIsNotCommittedOnAClaimLostWithTheLocksConnection() throws Exception {
    String url = PostgresCluster.shared().newDatabase();
    String bucket = S3Server.shared().newBucket();
    Node a = server("a", url, bucket);
    Node b = server("b", url, bucket);
    MailStore mail = new MailStore(a.db(), a.blobs(), new MailboxEvents());
    Directory directory = new Directory(a.db(), mail);
    directory.addDomain("example.test");
    Account account = directory.addAccount("ada@example.test", "pw".toCharArray());
    long inbox = mail.mailboxId(account.id(), Mailbox.INBOX).orElseThrow();
    SqlMessageRepository rowsOnB = new SqlMessageRepository(b.db());
    byte[] content = BlobBackendContract.body(4000, "acknowledged once, readable ever after");
    BlobRef blob = BlobBackendContract.write(a.blobs(), content);

    List<BlobStore.Collected> collected = new ArrayList<>();
    a.blobs().claimHook = () -> {
      a.blobs().claimHook = () -> {};
      terminateLocksBackend(b.db(), blob.hash()); // A holds the claim; its locks' connection ends under it
      // B's collector: no row refers to the blob yet (A's is not committed); it deletes once A's lock is gone.
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      BlobStore.Collected c;
      do {
        try {
          c = b.blobs().collect(blob.hash(), rowsOnB::blobReferenced, NO_GRACE);
        } catch (java.io.IOException e) {
          throw new AssertionError(e);
        }
      } while (c == BlobStore.Collected.BUSY && System.nanoTime() < end);
      collected.add(c);
    };
    StoreException failed = null;
    try {
      mail.deliver(List.of(inbox), blob, Instant.now());
    } catch (StoreException e) {
      failed = e;
    }
    assertThat(collected).as("B's collector deleted the blob once A's claim went with its connection")
        .containsExactly(BlobStore.Collected.DELETED);
    for (MessageRow m : mail.messages(inbox)) {
      assertThat(b.blobs().exists(m.blob())).as("the body of a stored message is in the bucket").isTrue();
    }
    assertThat(failed).as("A's delivery fails: its claim was not held through the commit").isNotNull();
    assertThat(mail.messages(inbox)).isEmpty();

    // The client tries again (SMTP's temporary failure): written again and claimed on the new connection, it is stored.
    BlobBackendContract.write(a.blobs(), content);
    mail.deliver(List.of(inbox), blob, Instant.now());
    assertThat(mail.messages(inbox)).hasSize(1);
    try (var in = b.blobs().open(mail.messages(inbox).getFirst().blob())) {
      assertThat(in.readAllBytes()).isEqualTo(content);
    }
  }

  /** Ends the backend that holds a shared claim on {@code hash} (the claiming node's locks' connection). */
  private static void terminateLocksBackend(PostgresDatabase db, String hash) {
    long id = Integer.toUnsignedLong((int) Long.parseLong(hash.substring(0, 8), 16));
    int ended = db.read(c -> {
      try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
          + " WHERE locktype = 'advisory' AND classid::bigint = ? AND objid::bigint = ? AND mode = 'ShareLock'"
          + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")) {
        ps.setLong(1, Integer.toUnsignedLong(ClusterLocks.BLOB));
        ps.setLong(2, id);
        try (java.sql.ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getInt(1);
        }
      }
    });
    assertThat(ended).as("the claiming node's locks' connection").isEqualTo(1);
  }
}
