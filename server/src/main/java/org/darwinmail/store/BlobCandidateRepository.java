package org.darwinmail.store;

import java.util.List;

/**
 * Blobs that may have lost their last reference (table blob_candidates, V007): the triggers add a row in the
 * transaction that deletes a message or a queued message, by any path; {@link BlobCollector} reads them and
 * removes them once settled. {@link SqlBlobCandidateRepository} is the implementation on both engines.
 */
public interface BlobCandidateRepository {
  /** A blob to look at, and the highest candidate row id read for it. */
  record Candidate(String hash, long upToId) {}

  /** Up to {@code limit} candidates, one per blob, those recorded longest ago first. */
  List<Candidate> candidates(int limit);

  /** Removes the candidate's rows up to the id read (a row added since stays for the next pass). */
  default void settled(Candidate candidate) {
    settled(List.of(candidate));
  }

  /**
   * {@link #settled(Candidate)} for each of {@code settled}, in one transaction: a collector pass after a POP3 QUIT
   * that deleted 1,000 messages commits once, not 1,000 times.
   */
  void settled(List<Candidate> settled);
}
