package org.darwinmail.store;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Mailboxes and the messages in them as stored (tables mailboxes, messages, expunged, orphan_subscriptions and
 * the intake journal's applied mark: V001, V004-V006, V008), in the terms the IMAP, POP3 and delivery code use.
 * UIDs and modseqs come from the mailbox row, taken in the transaction that uses them, so they strictly increase
 * and are never reused, whichever node writes. {@link MailStore} keeps the blobs, the events and the caches over
 * it; {@link SqlMessageRepository} is the implementation on both engines.
 */
public interface MessageRepository {
  /** Whether other nodes change these tables too (a shared PostgreSQL): caches over them then expire. */
  default boolean shared() {
    return false;
  }

  /** A message to add: its UID and modseq are given by its mailbox when it is added. */
  record NewMessage(long mailboxId, BlobRef blob, Instant date, int flags, Set<String> keywords) {}

  /** What one transaction changed under one new modseq ({@code modseq} 0: nothing changed, none taken). */
  record Changes<T>(long modseq, List<T> items) {}

  /** The flags and keywords a message is to have. */
  record Flagging(int flags, Set<String> keywords) {}

  // ---- mailboxes ---------------------------------------------------------------------------------------------

  /**
   * Creates a mailbox (subscribed, UID 1 next, a UIDVALIDITY never handed out before) and drops an orphan
   * subscription of its name; refused when the account has a mailbox of that name. {@code name} is canonical.
   */
  Mailbox createMailbox(long accountId, String name, String specialUse);

  /** An account's mailboxes, by name. */
  List<Mailbox> mailboxes(long accountId);

  Optional<Mailbox> mailbox(long accountId, String name);

  Optional<Mailbox> mailbox(long mailboxId);

  /**
   * Deletes a mailbox and its messages (cascade); a subscribed name is kept as an orphan subscription (RFC 3501
   * §6.3.6). Refused for INBOX or a mailbox that does not exist.
   */
  void deleteMailbox(long mailboxId);

  /** Renames a mailbox and every mailbox under it ("/"); refused when {@code from} is missing or {@code to} exists. */
  void renameMailbox(long accountId, String from, String to);

  void setSubscribed(long mailboxId, boolean subscribed);

  /** Names subscribed to whose mailbox was deleted, sorted. */
  List<String> orphanSubscriptions(long accountId);

  /** False when the name was not an orphan subscription. */
  boolean dropOrphanSubscription(long accountId, String name);

  /** The \Recent mark (RFC 3501 §2.3.2): the highest UID some session took as recent; 0 for no such mailbox. */
  long recentUid(long mailboxId);

  /** Moves the \Recent mark from {@code expected} to {@code to} when it is still {@code expected} (compare-and-set). */
  boolean moveRecentMark(long mailboxId, long expected, long to);

  /** The mailbox's highest modification sequence, or -1 when it does not exist. */
  long highestModseq(long mailboxId);

  /** The highest modseq of each of these mailboxes that exists (the cluster's safety net, {@link MailStore#recheck}). */
  java.util.Map<Long, Long> highestModseqs(Collection<Long> mailboxIds);

  /** Bytes used by all messages of an account. */
  long usage(long accountId);

  /** Does the account (still) exist? (A journaled message's account may have been removed since.) */
  boolean accountExists(long accountId);

  // ---- messages ----------------------------------------------------------------------------------------------

  /**
   * Adds messages in one transaction with new UIDs and modseqs, in the order given (UIDs ascending in that order
   * within a mailbox); durable when it returns. Messages added together by concurrent callers may share one
   * commit. Returns the rows in the order given; refused when a mailbox does not exist.
   */
  List<MessageRow> append(List<NewMessage> messages);

  /**
   * Runs {@code fence} in each transaction that adds messages, before it commits, with their blobs
   * ({@link BlobStore#fence}: several nodes).
   */
  default void fenceClaims(BlobStore.Fence fence) {}

  /**
   * Adds journaled messages like {@link #append} and records {@code appliedSeq} as the intake journal's applied
   * mark in the same transaction (so a restart applies each journaled message once).
   */
  List<MessageRow> appendJournaled(List<NewMessage> messages, long appliedSeq);

  /** The intake journal's applied mark: the last sequence number whose messages are stored (0 for none). */
  long intakeApplied();

  /** Every message of a mailbox, by UID. */
  List<MessageRow> messages(long mailboxId);

  /**
   * Every message of a mailbox, by ascending UID, handed to {@code each} as it is read: a mailbox of any size without
   * a list of all its rows (an IMAP SELECT). {@code each} must not call the store.
   */
  void eachMessage(long mailboxId, java.util.function.Consumer<MessageRow> each);

  /** How many messages a mailbox holds (without reading them). */
  long count(long mailboxId);

  /** The messages of the given UIDs that exist, by UID. */
  List<MessageRow> messages(long mailboxId, Collection<Long> uids);

  Optional<MessageRow> message(long mailboxId, long uid);

  /** Messages added or changed after {@code modseq}, by UID (RFC 7162). */
  List<MessageRow> changedSince(long mailboxId, long modseq);

  /** UIDs expunged after {@code modseq}, ascending (RFC 7162 §3.2.10 VANISHED). */
  List<Long> expungedSince(long mailboxId, long modseq);

  /**
   * Changes the flags of the given UIDs in one transaction under one new modseq: {@code change} gives each
   * message's new flags, or null to leave it alone; with {@code unchangedSince} (RFC 7162 §3.1.3) a message whose
   * modseq is greater is left alone. {@code change} decides on the rows as they are under the mailbox's lock (no
   * other change of them can come between), so concurrent changes of one message all take effect. Returns the rows
   * that changed, with the new modseq.
   */
  Changes<MessageRow> store(long mailboxId, Collection<Long> uids, Long unchangedSince,
      Function<MessageRow, Flagging> change);

  /** Removes the given UIDs under one new modseq, recording them as expunged; returns the UIDs removed. */
  Changes<Long> expunge(long mailboxId, Collection<Long> uids);

  /** Copies messages into another mailbox (new UIDs there, same blobs) in one transaction; rows in UID order. */
  List<MessageRow> copy(long fromMailboxId, Collection<Long> uids, long toMailboxId);

  /** Does any message use this blob? */
  boolean blobReferenced(String hash);

  /** The blobs messages use whose hash starts with {@code prefix}, two hex digits (the start's sweep). */
  java.util.Set<String> blobsReferenced(String prefix);
}
