package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 23: blobs go soon after their last reference, never under a row that refers to them. */
class BlobCollectorTest {
  @TempDir
  Path dir;

  private static BlobRef blob(BlobStore blobs, byte[] content) throws Exception {
    BlobStore.BlobWriter w = blobs.create();
    try (OutputStream o = w) {
      o.write(content);
      return w.commit();
    }
  }

  private static byte[] body(String id, int size) {
    byte[] b = new byte[size];
    java.util.Arrays.fill(b, (byte) 'x');
    byte[] head = ("Subject: " + id + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(head, 0, b, 0, head.length);
    return b;
  }

  private static long blobFiles(BlobStore blobs) throws Exception {
    try (Stream<Path> files = Files.walk(blobs.root(), 2)) {
      return files.filter(p -> Files.isRegularFile(p) && !p.getParent().getFileName().toString().equals("tmp"))
          .count();
    }
  }

  /** Every message row's blob is on disk. */
  private static void assertNothingReferencedIsMissing(DarwinMail.Services s) {
    List<String> hashes = s.db().read(c -> {
      List<String> out = new ArrayList<>();
      try (var ps = c.prepareStatement("SELECT blob FROM messages"); var rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return out;
    });
    assertThat(hashes).allSatisfy(h -> assertThat(s.blobs().exists(h)).as("blob of a stored message").isTrue());
  }

  /**
   * Before: expunging 180 x 200 KB freed nothing until the next start. Now the files of expunged messages, of a
   * deleted mailbox's, of a removed account's and of a deleted queue entry go within seconds.
   */
  @Test
  void expungedAndDeletedMailFreesItsBlobsWithinSecondsWithoutARestart() throws Exception {
    try (TestServer t = TestServer.start()) {
      t.addUser("alice@example.test", "pw");
      var s = t.services();
      long account = s.directory().account("alice@example.test").orElseThrow().id();
      long inbox = s.mail().mailbox(account, "INBOX").orElseThrow().id();
      Mailbox folder = s.mail().createMailbox(account, "Old", null);
      long before = blobFiles(s.blobs());
      List<Long> uids = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        BlobRef ref = blob(s.blobs(), body("m" + i, 200 * 1024));
        uids.add(s.mail().deliver(List.of(i < 10 ? inbox : folder.id()), ref, Instant.now()).getFirst().uid());
      }
      BlobRef kept = blob(s.blobs(), body("kept", 200 * 1024));
      s.mail().deliver(List.of(inbox), kept, Instant.now());
      BlobRef queued = blob(s.blobs(), body("queued", 200 * 1024));
      var queue = t.server().delivery().queue();
      long queuedId = queue.add("alice@example.test", List.of("someone@remote.test"), queued.hash(), queued.size(),
          false, "alice@example.test").getFirst().messageId();
      t.addUser("dave@example.test", "pw");
      long daveInbox = s.mail().mailbox(s.directory().account("dave@example.test").orElseThrow().id(), "INBOX")
          .orElseThrow().id();
      s.mail().deliver(List.of(daveInbox), blob(s.blobs(), body("dave", 200 * 1024)), Instant.now());
      assertThat(blobFiles(s.blobs())).isEqualTo(before + 23);

      s.mail().expunge(inbox, uids.subList(0, 10));
      s.mail().deleteMailbox(folder.id());
      queue.delete(List.of(queuedId));
      s.directory().removeAccount("dave@example.test");

      Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
          .until(() -> blobFiles(s.blobs()) == before + 1);
      assertThat(s.blobs().exists(kept.hash())).isTrue();
      assertNothingReferencedIsMissing(s);
    }
  }

  /**
   * A delivery of the same content as a message being expunged and collected, raced many times, through both
   * paths that re-use a stored blob (the blob writer, and the intake journal's applier): a stored message's blob is
   * never missing. The grace period is off here, so that only the claim protects the delivery.
   */
  @Test
  void aConcurrentDeliveryOfTheSameContentNeverLosesItsBlob() throws Exception {
    try (var s = DarwinMail.Services.open(ServerConfig.defaults(dir))) {
      s.directory().addDomain("example.test");
      Account a = s.directory().addAccount("bob@example.test", "pw".toCharArray());
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      BlobCollector collector = new BlobCollector(new SqlBlobCandidateRepository(s.db()), s.blobs(),
          s::blobReferenced, Duration.ZERO);
      AtomicInteger refused = new AtomicInteger();
      for (int round = 0; round < 300; round++) {
        boolean small = round % 2 == 0;
        byte[] content = body("round " + round, small ? 2000 : 100_000);
        BlobRef first = blob(s.blobs(), content);
        long uid = s.mail().deliver(List.of(inbox), first, Instant.now()).getFirst().uid();
        Thread collect = Thread.ofVirtual().start(() -> {
          s.mail().expunge(inbox, List.of(uid));
          for (int i = 0; i < 20 && collector.collectOnce() == 0; i++) {
            Thread.onSpinWait();
          }
        });
        try {
          if (small) {
            BlobStore.BlobWriter w = s.blobs().create();
            w.write(content);
            s.mail().intake().submit(List.of(new Intake.Target(a.id(), inbox)), Instant.now(), w.small());
            s.mail().awaitIntake();
          } else {
            s.mail().deliver(List.of(inbox), blob(s.blobs(), content), Instant.now());
          }
        } catch (StoreException e) {
          refused.incrementAndGet(); // the collector won: refused (a 4xx), not stored without its body
        }
        collect.join();
        assertNothingReferencedIsMissing(s);
      }
      assertThat(s.mail().messages(inbox)).hasSize(300 - refused.get());
    }
  }

  /**
   * A restart in the middle of a collection (simulated: a pass deleted its blobs but did not remove their
   * candidate rows) leaves every referenced blob in place, and the next start finishes the work.
   */
  @Test
  void aRestartInTheMiddleOfACollectionLosesNothing() throws Exception {
    List<String> expunged = new ArrayList<>();
    List<String> kept = new ArrayList<>();
    try (var s = DarwinMail.Services.open(ServerConfig.defaults(dir))) {
      s.directory().addDomain("example.test");
      Account a = s.directory().addAccount("carol@example.test", "pw".toCharArray());
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      Mailbox other = s.mail().createMailbox(a.id(), "Other", null);
      List<Long> uids = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        BlobRef ref = blob(s.blobs(), body("c" + i, 80_000));
        uids.add(s.mail().deliver(List.of(inbox), ref, Instant.now()).getFirst().uid());
        // Half are also in another mailbox: their candidate is still referenced.
        if (i % 2 == 0) {
          s.mail().deliver(List.of(other.id()), ref, Instant.now());
          kept.add(ref.hash());
        } else {
          expunged.add(ref.hash());
        }
      }
      s.mail().expunge(inbox, uids);
      for (String h : expunged.subList(0, 3)) {
        assertThat(s.blobs().collect(h, s::blobReferenced, Duration.ZERO)).isEqualTo(BlobStore.Collected.DELETED);
      }
    }
    try (TestServer t = TestServer.start(c -> ServerConfig.defaults(dir).withHostname("mx.test")
        .withListen(org.darwinmail.config.ListenConfig.ephemeral()))) {
      var s = t.services();
      assertNothingReferencedIsMissing(s);
      assertThat(kept).allSatisfy(h -> assertThat(s.blobs().exists(h)).isTrue());
      // The collector and the start-up sweep run after the listeners (issue 22): gone soon after the start.
      Awaitility.await().atMost(Duration.ofSeconds(30))
          .untilAsserted(() -> assertThat(expunged).allSatisfy(h -> assertThat(s.blobs().exists(h)).isFalse()));
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> s.db().read(c -> {
        try (var ps = c.prepareStatement("SELECT COUNT(*) FROM blob_candidates"); var rs = ps.executeQuery()) {
          rs.next();
          return rs.getInt(1) == 0;
        }
      }));
    }
  }
}
