package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.darwinmail.store.MessageRepository.Flagging;
import org.darwinmail.store.MessageRepository.NewMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mailboxes and the messages in them. Every change bumps the mailbox's modification sequence and is announced on
 * {@link MailboxEvents}. UIDs come from the mailbox row's {@code uid_next}, incremented in the same transaction as
 * the insert, so they are strictly increasing and never reused. What is stored goes through a
 * {@link MessageRepository}; this class keeps what is in the process: the blobs' claims, the events, the intake
 * journal, the cache of mailbox ids and the RFC 3501 rules of a flag change.
 */
public final class MailStore {
  private static final Logger log = LoggerFactory.getLogger(MailStore.class);
  /** Folders every new account gets, with their RFC 6154 use. */
  public static final List<String[]> DEFAULT_FOLDERS = List.of(
      new String[] {Mailbox.INBOX, null},
      new String[] {"Sent", "Sent"},
      new String[] {"Drafts", "Drafts"},
      new String[] {"Trash", "Trash"},
      new String[] {"Junk", "Junk"},
      new String[] {"Archive", "Archive"});

  private final MessageRepository repo;
  private final BlobStore blobs;
  private final MailboxEvents events;
  /** Mailbox ids by account and name; on a shared database read again after a second (another node renames). */
  private final GenerationCache<String, Optional<Long>> mailboxIds;
  /** The intake journal feeding this store (its reads then wait for what was journaled before them), or null. */
  private final Intake intake;

  /** A store on {@code db}'s tables without an intake journal (tests of the store alone). */
  public MailStore(SqlRunner db, BlobStore blobs, MailboxEvents events) {
    this(new SqlMessageRepository(db), blobs, events, null, Intake.SEGMENT_SIZE);
  }

  /**
   * A store fed by the intake journal in {@code intakeDir} (null: none): opening it applies what a previous run
   * journaled but did not store, before this constructor returns.
   */
  public MailStore(MessageRepository repo, BlobStore blobs, MailboxEvents events, Path intakeDir) {
    this(repo, blobs, events, intakeDir, Intake.SEGMENT_SIZE);
  }

  MailStore(MessageRepository repo, BlobStore blobs, MailboxEvents events, Path intakeDir, long segmentSize) {
    this.repo = repo;
    repo.fenceClaims(blobs::fence); // several nodes: no row commits on a claim lost meanwhile (BlobStore#fence)
    this.mailboxIds = GenerationCache.of(10_000, repo.shared());
    this.blobs = blobs;
    this.events = events;
    // Last: the journal's recovery uses this store (its reads do not wait for the journal yet, as intake is null).
    this.intake = intakeDir == null ? null : Intake.open(intakeDir, this, segmentSize);
  }

  public BlobStore blobs() {
    return blobs;
  }

  public MailboxEvents events() {
    return events;
  }

  /** The intake journal, or null when this store has none (it is opened by the server and the CLI). */
  public Intake intake() {
    return intake;
  }

  /**
   * Waits until every message acknowledged before this call is in its mailboxes, so that a read never misses a
   * message that was accepted before it started (see {@link Intake}). Called by the reads below. Returns false,
   * without waiting, while accepted messages cannot be stored (a full disk): the read shows what is stored.
   */
  public boolean awaitIntake() {
    Intake in = intake;
    return in == null || in.awaitApplied();
  }

  // ---- mailboxes -------------------------------------------------------------------------------------------

  /** Creates a mailbox; "inbox" in any case is INBOX. Refuses a name that exists. */
  public Mailbox createMailbox(long accountId, String name, String specialUse) {
    Mailbox m = repo.createMailbox(accountId, canonicalName(name), specialUse);
    mailboxesChanged();
    return m;
  }

  public static String canonicalName(String name) {
    if (name.equalsIgnoreCase(Mailbox.INBOX)) {
      return Mailbox.INBOX;
    }
    if (name.toUpperCase(Locale.ROOT).startsWith("INBOX/")) {
      return Mailbox.INBOX + name.substring(5);
    }
    return name;
  }

  public List<Mailbox> mailboxes(long accountId) {
    awaitIntake();
    return repo.mailboxes(accountId);
  }

  /** The id of an account's mailbox, cached (delivery looks it up for every message); emptied by every change. */
  public Optional<Long> mailboxId(long accountId, String name) {
    String n = canonicalName(name);
    return mailboxIds.get(accountId + "/" + n, k -> repo.mailbox(accountId, n).map(Mailbox::id));
  }

  /**
   * Hears of other nodes' changes on the cluster event channel (ARCHITECTURE.md, "The cluster event channel"): a
   * mailbox changed elsewhere wakes its sessions here, whose in-memory log then gives way to the database
   * ({@link MailboxEvents#changedElsewhere}); mailboxes created, renamed or deleted elsewhere empty the cache of ids;
   * "anything may have changed" (a reconnect, the periodic safety net) rechecks the watched mailboxes ({@link #recheck}).
   */
  public void listen(ClusterEvents cluster) {
    cluster.subscribe(ClusterEvents.Topic.MAILBOX, key -> {
      if (key == null) {
        recheck();
        return;
      }
      int colon = key.indexOf(':');
      try {
        long id = Long.parseLong(colon < 0 ? key : key.substring(0, colon));
        long modseq = colon < 0 ? 0 : Long.parseLong(key.substring(colon + 1));
        events.changedElsewhere(id, modseq);
      } catch (NumberFormatException e) {
        log.debug("cluster event with a bad mailbox key: {}", key);
      }
    });
    cluster.subscribe(ClusterEvents.Topic.MAILBOXES, key -> mailboxesChanged());
  }

  /**
   * The cluster's safety net: a watched mailbox (one a session here has selected) whose highest modseq in the
   * database is past what this node's log knows changed elsewhere without this node hearing of it (a notification
   * lost while the channel reconnected): its sessions are woken and read the database. Deleted ones likewise.
   */
  public void recheck() {
    Map<Long, Long> known = events.watched();
    if (known.isEmpty()) {
      return;
    }
    Map<Long, Long> now = repo.highestModseqs(known.keySet());
    for (Map.Entry<Long, Long> e : known.entrySet()) {
      Long h = now.get(e.getKey());
      if (h == null) {
        events.changedElsewhere(e.getKey(), 0);
      } else if (e.getValue() < 0 || h > e.getValue()) {
        events.changedElsewhere(e.getKey(), h);
      }
    }
  }

  /** Mailboxes were created, renamed or removed (also by removing an account): cached ids are stale. */
  public void mailboxesChanged() {
    mailboxIds.invalidate();
    events.mailboxesChanged();
  }

  public Optional<Mailbox> mailbox(long accountId, String name) {
    awaitIntake();
    return repo.mailbox(accountId, canonicalName(name));
  }

  public Optional<Mailbox> mailbox(long mailboxId) {
    awaitIntake();
    return repo.mailbox(mailboxId);
  }

  /**
   * The mailbox's \Recent mark (RFC 3501 §2.3.2): messages with a greater UID were not yet taken as recent by any
   * session. Read only (EXAMINE, STATUS).
   */
  public long recentUid(long mailboxId) {
    awaitIntake();
    return repo.recentUid(mailboxId);
  }

  /**
   * Takes the messages above the \\Recent mark up to {@code upTo} for one session: raises the mark to {@code upTo}
   * (never lowers it) and returns the mark before, so the session's recent messages are the UIDs in (returned,
   * upTo]. Two sessions never get the same message (RFC 3501 §2.3.2: "the message is considered recent in exactly
   * one session"): the mark moves by compare-and-set ({@link MessageRepository#moveRecentMark}). Writes only when
   * the mark moves.
   */
  public long claimRecent(long mailboxId, long upTo) {
    for (int attempt = 0; attempt < 100; attempt++) {
      long mark = recentUid(mailboxId);
      if (upTo <= mark) {
        return upTo;
      }
      if (repo.moveRecentMark(mailboxId, mark, upTo)) {
        return mark;
      }
    }
    return upTo; // the mark keeps moving under us: other sessions are taking the messages
  }

  /** Deletes a mailbox and its messages (their blobs are collected: {@link BlobCollector}). INBOX cannot be deleted. */
  public void deleteMailbox(long mailboxId) {
    repo.deleteMailbox(mailboxId);
    mailboxesChanged();
    events.changed(mailboxId);
  }

  /** Renames a mailbox (and every mailbox under it, hierarchy delimiter "/"). */
  public void renameMailbox(long accountId, String from, String to) {
    repo.renameMailbox(accountId, canonicalName(from), canonicalName(to));
    mailboxesChanged();
  }

  /** Names subscribed to whose mailbox was deleted (RFC 3501 §6.3.6), sorted. */
  public List<String> orphanSubscriptions(long accountId) {
    return repo.orphanSubscriptions(accountId);
  }

  /** Unsubscribes a name whose mailbox is gone; false when it was not subscribed. */
  public boolean dropOrphanSubscription(long accountId, String name) {
    return repo.dropOrphanSubscription(accountId, canonicalName(name));
  }

  /** Subscribes or unsubscribes a mailbox; told to IMAP NOTIFY here and, on the cluster channel, on other nodes. */
  public void setSubscribed(long mailboxId, boolean subscribed) {
    repo.setSubscribed(mailboxId, subscribed);
    events.mailboxesChanged();
  }

  // ---- messages --------------------------------------------------------------------------------------------

  /**
   * Stores one copy of {@code blob} in each mailbox, durably when it returns (the blob must already be durable).
   * Concurrent deliveries share transactions ({@link GroupCommit}). Returns the new rows in the order of
   * {@code mailboxIds}.
   */
  public List<MessageRow> deliver(List<Long> mailboxIds, BlobRef blob, Instant internalDate) {
    List<NewMessage> msgs = new ArrayList<>();
    for (long id : new java.util.LinkedHashSet<>(mailboxIds)) {
      msgs.add(new NewMessage(id, blob, internalDate, 0, Set.of()));
    }
    List<MessageRow> rows;
    try (BlobStore.Claim claim = blobs.claim(List.of(blob.hash()))) {
      rows = repo.append(msgs);
    }
    for (MessageRow r : rows) {
      events.committed(r.mailboxId(), r.modseq(), r.modseq(), List.of(r), List.of());
    }
    List<MessageRow> ordered = new ArrayList<>();
    for (long id : mailboxIds) {
      rows.stream().filter(r -> r.mailboxId() == id).findFirst().ifPresent(ordered::add);
    }
    return ordered;
  }

  /** One journaled message for {@link #deliverJournaled}: a copy for each target, sharing the (durable) blob. */
  record Delivery(long seq, List<Intake.Target> targets, BlobRef blob, Instant date) {}

  /** The last intake sequence number whose messages are stored (0 for none). */
  long intakeApplied() {
    return repo.intakeApplied();
  }

  /**
   * Stores journaled messages and records the last one's sequence number as applied, in one transaction;
   * messages at or below the applied number ({@code appliedOrUnknown}, read from the table when negative, as after
   * a failure) are already stored and skipped.
   * When the transaction fails (a mailbox deleted since the message was accepted), each message is stored alone,
   * into its account's INBOX when its mailbox is gone; a copy for an account that no longer exists is dropped,
   * with a warning.
   */
  void deliverJournaled(List<Delivery> deliveries, long appliedOrUnknown) {
    long done = appliedOrUnknown >= 0 ? appliedOrUnknown : intakeApplied();
    List<Delivery> batch = deliveries.stream().filter(d -> d.seq() > done).toList();
    if (batch.isEmpty()) {
      return;
    }
    try (BlobStore.Claim claim = blobs.claim(batch.stream().map(d -> d.blob().hash()).toList())) {
      deliverJournaledClaimed(batch);
    }
  }

  private void deliverJournaledClaimed(List<Delivery> batch) {
    long lastSeq = batch.getLast().seq();
    List<MessageRow> rows;
    try {
      List<NewMessage> all = new ArrayList<>();
      for (Delivery d : batch) {
        for (Intake.Target t : new java.util.LinkedHashSet<>(d.targets())) {
          all.add(new NewMessage(t.mailboxId(), d.blob(), d.date(), 0, Set.of()));
        }
      }
      rows = repo.appendJournaled(all, lastSeq);
    } catch (RuntimeException e) {
      if (batch.size() == 1
          && batch.getFirst().targets().stream().allMatch(t -> mailbox(t.mailboxId()).isPresent())) {
        throw e;
      }
      log.warn("storing {} journaled message(s) together failed ({}); storing each alone", batch.size(),
          e.toString());
      rows = new ArrayList<>();
      for (Delivery d : batch) {
        List<Intake.Target> live = new ArrayList<>();
        for (Intake.Target t : d.targets()) {
          if (mailbox(t.mailboxId()).isPresent()) {
            live.add(t);
            continue;
          }
          Optional<Long> inbox = repo.mailbox(t.accountId(), Mailbox.INBOX).map(Mailbox::id)
              .or(() -> repo.accountExists(t.accountId())
                  ? Optional.of(createMailbox(t.accountId(), Mailbox.INBOX, null).id()) : Optional.empty());
          if (inbox.isPresent()) {
            live.add(new Intake.Target(t.accountId(), inbox.get()));
          } else {
            log.warn("dropped a copy of {} for account {}: the account was removed after the message was accepted",
                d.blob().hash(), t.accountId());
          }
        }
        List<NewMessage> one = new ArrayList<>();
        for (Intake.Target t : new java.util.LinkedHashSet<>(live)) {
          one.add(new NewMessage(t.mailboxId(), d.blob(), d.date(), 0, Set.of()));
        }
        rows.addAll(repo.appendJournaled(one, d.seq()));
      }
    }
    for (MessageRow r : rows) {
      events.committed(r.mailboxId(), r.modseq(), r.modseq(), List.of(r), List.of());
    }
  }

  /** IMAP APPEND: one message with flags and keywords (shares transactions like {@link #deliver}). */
  public MessageRow append(long mailboxId, BlobRef blob, Instant internalDate, int flags, Set<String> keywords) {
    MessageRow row;
    try (BlobStore.Claim claim = blobs.claim(List.of(blob.hash()))) {
      row = repo.append(List.of(new NewMessage(mailboxId, blob, internalDate, flags, keywords))).getFirst();
    }
    events.committed(mailboxId, row.modseq(), row.modseq(), List.of(row), List.of());
    return row;
  }

  /**
   * IMAP APPEND of several messages into one mailbox (MULTIAPPEND, RFC 3502 §6.3.11): one transaction, so all are
   * stored or none; UIDs ascend in the order given.
   */
  public List<MessageRow> appendAll(List<MessageRepository.NewMessage> messages) {
    List<MessageRow> rows;
    try (BlobStore.Claim claim = blobs.claim(messages.stream().map(m -> m.blob().hash()).toList())) {
      rows = repo.append(messages);
    }
    for (MessageRow row : rows) {
      events.committed(row.mailboxId(), row.modseq(), row.modseq(), List.of(row), List.of());
    }
    return rows;
  }

  /** Every message of a mailbox, by ascending UID. */
  public List<MessageRow> messages(long mailboxId) {
    awaitIntake();
    return repo.messages(mailboxId);
  }

  /** Every message of a mailbox, by ascending UID, one at a time ({@link MessageRepository#eachMessage}). */
  public void eachMessage(long mailboxId, java.util.function.Consumer<MessageRow> each) {
    awaitIntake();
    repo.eachMessage(mailboxId, each);
  }

  /** How many messages a mailbox holds: a count, not a read of every row (a POP3 QUIT's "messages left"). */
  public long count(long mailboxId) {
    awaitIntake();
    return repo.count(mailboxId);
  }

  /** The rows of the given UIDs (those still there), by UID. */
  public List<MessageRow> messages(long mailboxId, Collection<Long> uids) {
    awaitIntake();
    return repo.messages(mailboxId, uids);
  }

  public Optional<MessageRow> message(long mailboxId, long uid) {
    awaitIntake();
    return repo.message(mailboxId, uid);
  }

  // ---- what changed since a modification sequence (RFC 7162) -------------------------------------------------

  /** The mailbox's highest modification sequence, or -1 when it does not exist. */
  public long highestModseq(long mailboxId) {
    return repo.highestModseq(mailboxId);
  }

  /** Messages added or changed after {@code modseq}, by UID (a session catching up without the whole mailbox). */
  public List<MessageRow> changedSince(long mailboxId, long modseq) {
    return repo.changedSince(mailboxId, modseq);
  }

  /** UIDs expunged after {@code modseq} (RFC 7162 §3.2.10 VANISHED), ascending. */
  public List<Long> expungedSince(long mailboxId, long modseq) {
    return repo.expungedSince(mailboxId, modseq);
  }

  /** How {@link #store} changes flags (RFC 3501 §6.4.6: FLAGS, +FLAGS, -FLAGS). */
  public enum FlagOp { REPLACE, ADD, REMOVE }

  /**
   * Changes flags and keywords of the given UIDs. With {@code unchangedSince} (CONDSTORE, RFC 7162 §3.1.3), a
   * message whose modseq is greater is left alone. Returns the rows that changed, with their new modseq.
   */
  public List<MessageRow> store(long mailboxId, Collection<Long> uids, FlagOp op, int flags, Set<String> keywords,
      Long unchangedSince) {
    if (uids.isEmpty()) {
      return List.of();
    }
    MessageRepository.Changes<MessageRow> changed = repo.store(mailboxId, uids, unchangedSince, m -> {
      int nf = switch (op) {
        case REPLACE -> flags;
        case ADD -> m.flags() | flags;
        case REMOVE -> m.flags() & ~flags;
      };
      Set<String> nk = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
      if (op != FlagOp.REPLACE) {
        nk.addAll(m.keywords());
      }
      if (op == FlagOp.REMOVE) {
        nk.removeAll(keywords);
      } else {
        nk.addAll(keywords);
      }
      return nf == m.flags() && nk.equals(new TreeSet<>(m.keywords())) ? null : new Flagging(nf, nk);
    });
    if (changed.modseq() != 0) {
      events.committed(mailboxId, changed.modseq(), changed.modseq(), changed.items(), List.of());
    }
    return changed.items();
  }

  /** Removes the given UIDs (IMAP EXPUNGE, POP3 UPDATE state); returns the UIDs that were removed. */
  public List<Long> expunge(long mailboxId, Collection<Long> uids) {
    if (uids.isEmpty()) {
      return List.of();
    }
    MessageRepository.Changes<Long> removed = repo.expunge(mailboxId, uids);
    if (removed.modseq() != 0) {
      events.committed(mailboxId, removed.modseq(), removed.modseq(), List.of(), removed.items());
    }
    return removed.items();
  }

  /**
   * Copies messages into another mailbox (new UIDs there, same blobs); returns the new rows in source order. Their
   * blobs are claimed first (read outside the transaction; a row never changes its blob), so that an expunge of the
   * source committed meanwhile cannot let them be collected under the copy.
   */
  public List<MessageRow> copy(long fromMailboxId, Collection<Long> uids, long toMailboxId) {
    List<String> hashes = repo.messages(fromMailboxId, uids).stream().map(MessageRow::blob).toList();
    List<MessageRow> rows;
    try (BlobStore.Claim claim = blobs.claim(hashes)) {
      rows = repo.copy(fromMailboxId, uids, toMailboxId);
    }
    if (!rows.isEmpty()) {
      events.committed(toMailboxId, rows.getFirst().modseq(), rows.getLast().modseq(), rows, List.of());
    }
    return rows;
  }

  /** Bytes used by all messages of an account (for quotas). */
  public long usage(long accountId) {
    awaitIntake();
    return repo.usage(accountId);
  }

  public InputStream open(MessageRow m) throws IOException {
    return blobs.open(m.blob());
  }

  /** The message's bytes as a channel (positional reads into direct buffers, no copy through the heap). */
  public java.nio.channels.FileChannel openChannel(MessageRow m) throws IOException {
    return java.nio.channels.FileChannel.open(blobs.path(m.blob()), java.nio.file.StandardOpenOption.READ);
  }

  /** Is any message still using this blob? (for the sweep and the collector, with the queue's) */
  public boolean blobReferenced(String hash) {
    return repo.blobReferenced(hash);
  }

  /** The blobs messages use whose hash starts with {@code prefix}, two hex digits (the start's sweep). */
  public java.util.Set<String> blobsReferenced(String prefix) {
    return repo.blobsReferenced(prefix);
  }
}
