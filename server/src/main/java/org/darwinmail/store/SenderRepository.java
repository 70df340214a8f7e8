package org.darwinmail.store;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * What the outbound abuse guard keeps (tables sender_blocks and sender_recipients, migration V003; sender_counts,
 * V011): the blocks in force, the recipients each account already wrote to, and, on a database shared by several
 * nodes, each account's burst counts from every node. {@link SqlSenderRepository} is the
 * implementation (Derby and PostgreSQL).
 */
public interface SenderRepository {
  /** A persisted sending block: the account, when, why, and the figures that triggered it. */
  record Block(String account, Instant since, String reason, int messages, int recipients, int windowSeconds) {}

  /** Every block in force. */
  List<Block> blocks();

  /** Stores a block; durable when it returns. */
  void addBlock(Block b);

  /** An account's burst figures summed over every node: messages and recipients. */
  record Counts(long messages, long recipients) {}

  /**
   * Adds {@code messages} and {@code recipients} to {@code account}'s count in the bucket starting at {@code bucket}
   * (epoch milliseconds), deletes its buckets starting at or before {@code since}, and returns the sums of its
   * buckets after {@code since}, this addition included, as committed by every node. Concurrent calls for one
   * account and bucket take turns on its row, so each sees the others' additions.
   */
  Counts count(String account, long bucket, int messages, int recipients, long since);

  /** Removes the block of {@code account} and forgets its burst counts; returns whether there was a block. */
  boolean removeBlock(String account);

  /** The recipients {@code account} already wrote to. */
  Set<String> knownRecipients(String account);

  /** Records that {@code account} wrote to these recipients at {@code at}; those already known are skipped. */
  void rememberRecipients(String account, Collection<String> recipients, Instant at);
}
