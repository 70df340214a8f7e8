package org.darwinmail.store;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes blobs soon after their last reference goes (issue 23: expunged mail freed no space until the next start).
 *
 * <p>The transaction that deletes a message or a queued message records its blob in {@code blob_candidates}
 * (triggers, V007: every path, cascades included). Every {@link #INTERVAL} this thread reads the candidates and
 * asks {@link BlobStore#collect} to delete each blob under its hash's lock, which a writer about to refer to the
 * blob also takes (see {@link BlobStore}): deleted only when no claim is held, the file is older than the grace
 * period and no committed row refers to it. Then the candidate rows up to the id read go, those of the whole pass in
 * one transaction. A crash between the two leaves candidates whose blobs are gone (done at the next pass); nothing
 * referenced is ever deleted.
 */
public final class BlobCollector implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BlobCollector.class);
  /** How often the candidates are read (an empty table costs one small query). */
  static final Duration INTERVAL = Duration.ofSeconds(1);
  /**
   * A blob written or re-used this recently is left for a later pass: a delivery that found its content already
   * stored claims it moments after (its row's transaction), and is not failed by a collection in between.
   */
  public static final Duration GRACE = Duration.ofSeconds(5);
  private static final int BATCH = 500;

  private final BlobCandidateRepository candidates;
  private final BlobStore blobs;
  private final Predicate<String> referenced;
  private final Duration grace;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition wake = lock.newCondition();
  private boolean closing;
  private final Thread thread;

  /** Starts collecting; {@code referenced} says whether a committed row (message or queued message) uses a blob. */
  public static BlobCollector start(BlobCandidateRepository candidates, BlobStore blobs,
      Predicate<String> referenced) {
    BlobCollector c = new BlobCollector(candidates, blobs, referenced, GRACE);
    c.thread.start();
    return c;
  }

  BlobCollector(BlobCandidateRepository candidates, BlobStore blobs, Predicate<String> referenced, Duration grace) {
    this.candidates = candidates;
    this.blobs = blobs;
    this.referenced = referenced;
    this.grace = grace;
    this.thread = Thread.ofPlatform().name("blob-collector").daemon().unstarted(this::loop);
  }

  private void loop() {
    while (true) {
      int done = 0;
      try {
        done = collectOnce();
      } catch (RuntimeException e) {
        log.warn("blob collection failed (retrying): {}", e.getMessage());
      }
      lock.lock();
      try {
        if (!closing && done < BATCH) {
          wake.awaitNanos(INTERVAL.toNanos());
        }
        if (closing) {
          return;
        }
      } catch (InterruptedException e) {
        return;
      } finally {
        lock.unlock();
      }
    }
  }

  /** One pass: returns how many candidates were settled (deleted, or still referenced). */
  int collectOnce() {
    List<BlobCandidateRepository.Candidate> batch = candidates.candidates(BATCH);
    // Settled together at the end of the pass, in one transaction (a commit per blob was most of the collector's
    // CPU after a POP3 QUIT of 1,000 messages). A crash before it leaves candidates whose blobs are gone: the next
    // pass finds them gone and settles them.
    List<BlobCandidateRepository.Candidate> settledNow = new ArrayList<>(batch.size());
    int deleted = 0;
    for (BlobCandidateRepository.Candidate cand : batch) {
      BlobStore.Collected r;
      try {
        r = blobs.collect(cand.hash(), referenced, grace);
      } catch (IOException e) {
        log.warn("cannot delete blob {} (retrying): {}", cand.hash(), e.getMessage());
        continue;
      }
      if (r == BlobStore.Collected.BUSY) {
        continue;
      }
      settledNow.add(cand);
      if (r == BlobStore.Collected.DELETED) {
        deleted++;
      }
    }
    candidates.settled(settledNow);
    if (deleted > 0) {
      log.info("deleted {} blob(s) no message refers to any more", deleted);
    }
    return settledNow.size();
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closing = true;
      wake.signalAll();
    } finally {
      lock.unlock();
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
