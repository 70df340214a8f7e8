package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.Blobs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start-up sweep runs while new mail is delivered (issue 22: after the listeners opened). An orphan blob (left
 * by a crash between a blob's commit and its row) whose content a new message repeats is re-used by that message
 * (same hash, same name): whatever the interleaving, the message stays readable. The interleavings are forced with
 * BlobStore's hooks; a sweep that deleted what its "unreferenced?" check found, without the collector's lock, claim
 * and cutoff, loses the message in the first test.
 */
class SweepWhileDeliveringTest {
  private static final String BODY = "Subject: again\r\n\r\nThe same content as a message a crash left without its row.\r\n";

  @TempDir
  Path dir;

  private DarwinMail.Services open() {
    return DarwinMail.Services.open(ServerConfig.defaults(dir));
  }

  private static long inbox(DarwinMail.Services s) {
    s.directory().addDomain("example.test");
    Account a = s.directory().addAccount("a@example.test", "pw".toCharArray());
    return s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
  }

  /** An orphan of a crash: a committed blob no row refers to, written an hour before this start. */
  private static String orphan(DarwinMail.Services s) throws Exception {
    BlobRef ref = Blobs.write(s.blobs(), BODY);
    Files.setLastModifiedTime(s.blobs().path(ref.hash()), FileTime.from(Instant.now().minus(Duration.ofHours(1))));
    return ref.hash();
  }

  private static void assertReadable(DarwinMail.Services s, long inbox) throws Exception {
    List<MessageRow> rows = s.mail().messages(inbox);
    assertThat(rows).hasSize(1);
    assertThat(s.blobs().exists(rows.getFirst().blob())).isTrue();
    try (var in = s.blobs().open(rows.getFirst().blob())) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(BODY);
    }
  }

  /** The message is delivered (blob re-used, row committed) between the sweep's check and its delete. */
  @Test
  void aMessageDeliveredBetweenTheSweepsCheckAndItsDeleteKeepsItsBody() throws Exception {
    try (var s = open()) {
      long inbox = inbox(s);
      String hash = orphan(s);
      Instant start = Instant.now().minusSeconds(1);
      s.blobs().sweepHook = name -> {
        if (name.equals(hash)) {
          try {
            s.mail().deliver(List.of(inbox), Blobs.write(s.blobs(), BODY), Instant.now());
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }
      };
      assertThat(s.blobs().sweep(s::blobReferenced, start)).isZero();
      assertReadable(s, inbox);
    }
  }

  /**
   * The sweep decided to delete (under the blob's lock) while a delivery of the same content is committing its
   * blob: the delivery waits for the lock, finds the name gone, and writes the content again.
   */
  @Test
  void aMessageCommittingWhileTheSweepDeletesWritesItsBodyAgain() throws Exception {
    try (var s = open()) {
      long inbox = inbox(s);
      String hash = orphan(s);
      Instant start = Instant.now().minusSeconds(1);
      AtomicReference<Thread> delivery = new AtomicReference<>();
      AtomicReference<Throwable> failed = new AtomicReference<>();
      s.blobs().collectionHook = () -> {
        Thread t = Thread.ofPlatform().start(() -> {
          try {
            s.mail().deliver(List.of(inbox), Blobs.write(s.blobs(), BODY), Instant.now());
          } catch (Throwable e) {
            failed.set(e);
          }
        });
        delivery.set(t);
        while (!s.blobs().lock(hash).hasQueuedThread(t)) { // the delivery's commit waits for the sweep's lock
          Thread.onSpinWait();
        }
      };
      assertThat(s.blobs().sweep(s::blobReferenced, start)).isEqualTo(1);
      delivery.get().join();
      assertThat(failed.get()).isNull();
      assertReadable(s, inbox);
    }
  }

  /**
   * A delivery that re-used the orphan (its blob committed) but has not claimed it for its row yet: the re-use made
   * the blob newer than the process's start, and the sweep leaves it.
   */
  @Test
  void aBlobReusedSinceTheStartIsLeftForItsRow() throws Exception {
    try (var s = open()) {
      long inbox = inbox(s);
      orphan(s);
      Instant start = Instant.now().minusSeconds(1);
      BlobRef reused = Blobs.write(s.blobs(), BODY);
      assertThat(s.blobs().sweep(s::blobReferenced, start)).isZero();
      s.mail().deliver(List.of(inbox), reused, Instant.now());
      assertReadable(s, inbox);
    }
  }
}
