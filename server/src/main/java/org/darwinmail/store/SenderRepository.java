package org.darwinmail.store;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * What the outbound abuse guard keeps (tables sender_blocks and sender_recipients, migration V003): the blocks in
 * force and the recipients each account already wrote to. {@link SqlSenderRepository} is the
 * implementation (Derby and PostgreSQL).
 */
public interface SenderRepository {
  /** A persisted sending block: the account, when, why, and the figures that triggered it. */
  record Block(String account, Instant since, String reason, int messages, int recipients, int windowSeconds) {}

  /** Every block in force. */
  List<Block> blocks();

  /** Stores a block; durable when it returns. */
  void addBlock(Block b);

  /** Removes the block of {@code account}; returns whether there was one. */
  boolean removeBlock(String account);

  /** The recipients {@code account} already wrote to. */
  Set<String> knownRecipients(String account);

  /** Records that {@code account} wrote to these recipients at {@code at}; those already known are skipped. */
  void rememberRecipients(String account, Collection<String> recipients, Instant at);
}
