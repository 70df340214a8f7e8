package org.darwinmail.store;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What the outbound abuse guard keeps (tables sender_blocks and sender_recipients, migration V003; sender_counts,
 * V011; sender_rates, V015): the blocks in force, the recipients each account already wrote to, and, on a database
 * shared by several nodes, each account's burst and rate counts from every node. {@link SqlSenderRepository} is the
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

  /** An account's counts over one window of the sending limits: messages, recipients, first-time recipients. */
  record Tally(long messages, long recipients, long fresh) {
    public static final Tally ZERO = new Tally(0, 0, 0);
  }

  /**
   * The sending limits' windows shared by every node (table sender_rates): in one transaction, which takes turns
   * with every other call for {@code account} on any node, reads the account's sums over each window (lengths in
   * seconds, at most a day) ending at {@code now} (epoch milliseconds), and, when {@code allow} accepts them, adds
   * {@code adding} to each window's current bucket (a sixtieth of the window). Returns the sums before the addition,
   * one per window in order. {@code allow} may be called more than once (a transaction retried) and does nothing else.
   */
  List<Tally> rates(String account, long now, int[] windowSeconds, Tally adding, Predicate<List<Tally>> allow);

  /**
   * Removes the block of {@code account} and forgets its burst and rate counts; returns whether there was a block.
   */
  boolean removeBlock(String account);

  /** The recipients {@code account} already wrote to. */
  Set<String> knownRecipients(String account);

  /** Records that {@code account} wrote to these recipients at {@code at}; those already known are skipped. */
  void rememberRecipients(String account, Collection<String> recipients, Instant at);
}
