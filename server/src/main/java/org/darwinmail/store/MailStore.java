package org.darwinmail.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mailboxes and the messages in them. Every change bumps the mailbox's modification sequence and is announced on
 * {@link MailboxEvents}. UIDs come from the mailbox row's {@code uid_next}, incremented in the same transaction as
 * the insert, so they are strictly increasing and never reused.
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

  private static final String MAILBOX_COLUMNS =
      "id, account_id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq";
  private static final String MESSAGE_COLUMNS = "mailbox_id, uid, blob, size, internal_date, flags, keywords, modseq";

  private final Database db;
  private final BlobStore blobs;
  private final MailboxEvents events;
  private final GenerationCache<String, Optional<Long>> mailboxIds = new GenerationCache<>(10_000);
  private final GroupCommit<List<NewMessage>, List<MessageRow>> inserts;
  /** The intake journal feeding this store (its reads then wait for what was journaled before them), or null. */
  private final Intake intake;

  /** A store without an intake journal (tests of the store alone). */
  public MailStore(Database db, BlobStore blobs, MailboxEvents events) {
    this(db, blobs, events, null);
  }

  /**
   * A store fed by the intake journal in {@code intakeDir} (null: none): opening it applies what a previous run
   * journaled but did not store, before this constructor returns.
   */
  public MailStore(Database db, BlobStore blobs, MailboxEvents events, Path intakeDir) {
    this(db, blobs, events, intakeDir, Intake.SEGMENT_SIZE);
  }

  MailStore(Database db, BlobStore blobs, MailboxEvents events, Path intakeDir, long segmentSize) {
    this.db = db;
    this.blobs = blobs;
    this.events = events;
    this.inserts = new GroupCommit<>(db, 64, MailStore::insertBatch);
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
    String n = canonicalName(name);
    Mailbox m = db.tx(c -> createMailbox(c, accountId, n, specialUse));
    mailboxesChanged();
    return m;
  }

  static Mailbox createMailbox(Connection c, long accountId, String name, String specialUse) throws SQLException {
    if (findMailbox(c, accountId, name).isPresent()) {
      throw new RefusedException("mailbox exists: " + name);
    }
    try (PreparedStatement ps = c.prepareStatement(
        "DELETE FROM orphan_subscriptions WHERE account_id = ? AND name = ?")) {
      ps.setLong(1, accountId);
      ps.setString(2, name); // the new mailbox carries the subscription again
      ps.executeUpdate();
    }
    long validity = nextUidValidity(c);
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO mailboxes (account_id, name, special_use, subscribed,"
        + " uid_validity, uid_next, highest_modseq) VALUES (?, ?, ?, 1, ?, 1, 1)", Statement.RETURN_GENERATED_KEYS)) {
      ps.setLong(1, accountId);
      ps.setString(2, name);
      ps.setString(3, specialUse);
      ps.setLong(4, validity);
      ps.executeUpdate();
      try (ResultSet rs = ps.getGeneratedKeys()) {
        rs.next();
        return new Mailbox(rs.getLong(1), accountId, name, specialUse, true, validity, 1, 1);
      }
    }
  }

  /** A UIDVALIDITY never handed out before: the current time in seconds, or one more than the last. */
  private static long nextUidValidity(Connection c) throws SQLException {
    long last;
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT val FROM store_state WHERE name = 'last_uid_validity' FOR UPDATE")) {
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        last = rs.getLong(1);
      }
    }
    long next = Math.max(Instant.now().getEpochSecond() & 0xFFFFFFFFL, last + 1);
    if (next > 0xFFFFFFFFL) {
      next = 1;
    }
    try (PreparedStatement ps = c.prepareStatement("UPDATE store_state SET val = ? WHERE name = 'last_uid_validity'")) {
      ps.setLong(1, next);
      ps.executeUpdate();
    }
    return next;
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
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + MAILBOX_COLUMNS + " FROM mailboxes WHERE account_id = ? ORDER BY name")) {
        ps.setLong(1, accountId);
        return mailboxList(ps);
      }
    });
  }

  /** The id of an account's mailbox, cached (delivery looks it up for every message); emptied by every change. */
  public Optional<Long> mailboxId(long accountId, String name) {
    String n = canonicalName(name);
    return mailboxIds.get(accountId + "/" + n, k -> db.read(c -> findMailbox(c, accountId, n)).map(Mailbox::id));
  }

  /** Mailboxes were created, renamed or removed (also by removing an account): cached ids are stale. */
  public void mailboxesChanged() {
    mailboxIds.invalidate();
  }

  public Optional<Mailbox> mailbox(long accountId, String name) {
    awaitIntake();
    String n = canonicalName(name);
    return db.read(c -> findMailbox(c, accountId, n));
  }

  public Optional<Mailbox> mailbox(long mailboxId) {
    awaitIntake();
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT " + MAILBOX_COLUMNS + " FROM mailboxes WHERE id = ?")) {
        ps.setLong(1, mailboxId);
        return mailboxList(ps).stream().findFirst();
      }
    });
  }

  /**
   * The mailbox's \Recent mark (RFC 3501 §2.3.2): messages with a greater UID were not yet taken as recent by any
   * session. Read only (EXAMINE, STATUS).
   */
  public long recentUid(long mailboxId) {
    awaitIntake();
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT recent_uid FROM mailboxes WHERE id = ?")) {
        ps.setLong(1, mailboxId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getLong(1) : 0L;
        }
      }
    });
  }

  /**
   * Takes the messages above the \\Recent mark up to {@code upTo} for one session: raises the mark to {@code upTo}
   * (never lowers it) and returns the mark before, so the session's recent messages are the UIDs in (returned,
   * upTo]. Two sessions never get the same message (RFC 3501 §2.3.2: "the message is considered recent in exactly
   * one session"): the mark moves by compare-and-set (an UPDATE whose WHERE names the value read; Derby holds the
   * row's lock for the UPDATE, while a SELECT ... FOR UPDATE at READ COMMITTED lets it go when the cursor moves on).
   * Writes only when the mark moves.
   */
  public long claimRecent(long mailboxId, long upTo) {
    for (int attempt = 0; attempt < 100; attempt++) {
      long mark = recentUid(mailboxId);
      if (upTo <= mark) {
        return upTo;
      }
      int moved = db.tx(c -> {
        try (PreparedStatement ps = c.prepareStatement(
            "UPDATE mailboxes SET recent_uid = ? WHERE id = ? AND recent_uid = ?")) {
          ps.setLong(1, upTo);
          ps.setLong(2, mailboxId);
          ps.setLong(3, mark);
          return ps.executeUpdate();
        }
      });
      if (moved == 1) {
        return mark;
      }
    }
    return upTo; // the mark keeps moving under us: other sessions are taking the messages
  }

  private static Optional<Mailbox> findMailbox(Connection c, long accountId, String name) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT " + MAILBOX_COLUMNS + " FROM mailboxes WHERE account_id = ? AND name = ?")) {
      ps.setLong(1, accountId);
      ps.setString(2, name);
      return mailboxList(ps).stream().findFirst();
    }
  }

  private static List<Mailbox> mailboxList(PreparedStatement ps) throws SQLException {
    List<Mailbox> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(new Mailbox(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getInt(5) != 0,
            rs.getLong(6), rs.getLong(7), rs.getLong(8)));
      }
    }
    return out;
  }

  /** Deletes a mailbox and its messages (their blobs are collected: {@link BlobCollector}). INBOX cannot be deleted. */
  public void deleteMailbox(long mailboxId) {
    db.tx(c -> {
      // a subscription outlives its mailbox (RFC 3501 §6.3.6): its name is kept (V008)
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO orphan_subscriptions (account_id, name)"
          + " SELECT account_id, name FROM mailboxes m WHERE id = ? AND subscribed = 1 AND name <> 'INBOX'"
          + " AND NOT EXISTS (SELECT 1 FROM orphan_subscriptions o WHERE o.account_id = m.account_id"
          + " AND o.name = m.name)")) {
        ps.setLong(1, mailboxId);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM mailboxes WHERE id = ? AND name <> 'INBOX'")) {
        ps.setLong(1, mailboxId);
        if (ps.executeUpdate() == 0) {
          throw new RefusedException("no such mailbox, or it is INBOX");
        }
      }
      return null;
    });
    mailboxesChanged();
    events.changed(mailboxId);
  }

  /** Renames a mailbox (and every mailbox under it, hierarchy delimiter "/"). */
  public void renameMailbox(long accountId, String from, String to) {
    String f = canonicalName(from);
    String t = canonicalName(to);
    db.tx(c -> {
      Mailbox m = findMailbox(c, accountId, f).orElseThrow(() -> new RefusedException("no such mailbox: " + f));
      if (findMailbox(c, accountId, t).isPresent()) {
        throw new RefusedException("mailbox exists: " + t);
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE mailboxes SET name = ? WHERE id = ?")) {
        ps.setString(1, t);
        ps.setLong(2, m.id());
        ps.executeUpdate();
      }
      try (PreparedStatement sel = c.prepareStatement(
          "SELECT id, name FROM mailboxes WHERE account_id = ? AND name LIKE ? ESCAPE '!'")) {
        sel.setLong(1, accountId);
        sel.setString(2, f.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "/%");
        List<long[]> ids = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try (ResultSet rs = sel.executeQuery()) {
          while (rs.next()) {
            ids.add(new long[] {rs.getLong(1)});
            names.add(rs.getString(2));
          }
        }
        try (PreparedStatement up = c.prepareStatement("UPDATE mailboxes SET name = ? WHERE id = ?")) {
          for (int i = 0; i < ids.size(); i++) {
            up.setString(1, t + names.get(i).substring(f.length()));
            up.setLong(2, ids.get(i)[0]);
            up.executeUpdate();
          }
        }
      }
      return null;
    });
    mailboxesChanged();
  }

  /** Names subscribed to whose mailbox was deleted (RFC 3501 §6.3.6), sorted. */
  public List<String> orphanSubscriptions(long accountId) {
    return db.read(c -> {
      List<String> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT name FROM orphan_subscriptions WHERE account_id = ? ORDER BY name")) {
        ps.setLong(1, accountId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(rs.getString(1));
          }
        }
      }
      return out;
    });
  }

  /** Unsubscribes a name whose mailbox is gone; false when it was not subscribed. */
  public boolean dropOrphanSubscription(long accountId, String name) {
    return db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "DELETE FROM orphan_subscriptions WHERE account_id = ? AND name = ?")) {
        ps.setLong(1, accountId);
        ps.setString(2, canonicalName(name));
        return ps.executeUpdate() > 0;
      }
    });
  }

  public void setSubscribed(long mailboxId, boolean subscribed) {
    db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE mailboxes SET subscribed = ? WHERE id = ?")) {
        ps.setInt(1, subscribed ? 1 : 0);
        ps.setLong(2, mailboxId);
        return ps.executeUpdate();
      }
    });
  }

  // ---- messages --------------------------------------------------------------------------------------------

  /** A message row to add: the UID and modseq are given by {@link #insertAll}. */
  private record NewMessage(long mailboxId, BlobRef blob, Instant date, int flags, Set<String> keywords) {}

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
      rows = inserts.submit(msgs);
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
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT applied_seq FROM intake WHERE id = 1");
          ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0L;
      }
    });
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
      rows = db.tx(c -> {
        List<NewMessage> all = new ArrayList<>();
        for (Delivery d : batch) {
          for (Intake.Target t : new java.util.LinkedHashSet<>(d.targets())) {
            all.add(new NewMessage(t.mailboxId(), d.blob(), d.date(), 0, Set.of()));
          }
        }
        List<MessageRow> r = insertAll(c, all);
        setIntakeApplied(c, lastSeq);
        return r;
      });
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
          Optional<Long> inbox = db.read(c -> findMailbox(c, t.accountId(), Mailbox.INBOX)).map(Mailbox::id)
              .or(() -> accountExists(t.accountId())
                  ? Optional.of(createMailbox(t.accountId(), Mailbox.INBOX, null).id()) : Optional.empty());
          if (inbox.isPresent()) {
            live.add(new Intake.Target(t.accountId(), inbox.get()));
          } else {
            log.warn("dropped a copy of {} for account {}: the account was removed after the message was accepted",
                d.blob().hash(), t.accountId());
          }
        }
        rows.addAll(db.tx(c -> {
          List<NewMessage> one = new ArrayList<>();
          for (Intake.Target t : new java.util.LinkedHashSet<>(live)) {
            one.add(new NewMessage(t.mailboxId(), d.blob(), d.date(), 0, Set.of()));
          }
          List<MessageRow> r = insertAll(c, one);
          setIntakeApplied(c, d.seq());
          return r;
        }));
      }
    }
    for (MessageRow r : rows) {
      events.committed(r.mailboxId(), r.modseq(), r.modseq(), List.of(r), List.of());
    }
  }

  private static void setIntakeApplied(Connection c, long seq) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("UPDATE intake SET applied_seq = ? WHERE id = 1")) {
      ps.setLong(1, seq);
      ps.executeUpdate();
    }
  }

  private boolean accountExists(long accountId) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM accounts WHERE id = ?")) {
        ps.setLong(1, accountId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  /** IMAP APPEND: one message with flags and keywords (shares transactions like {@link #deliver}). */
  public MessageRow append(long mailboxId, BlobRef blob, Instant internalDate, int flags, Set<String> keywords) {
    MessageRow row;
    try (BlobStore.Claim claim = blobs.claim(List.of(blob.hash()))) {
      row = inserts.submit(List.of(new NewMessage(mailboxId, blob, internalDate, flags, keywords))).getFirst();
    }
    events.committed(mailboxId, row.modseq(), row.modseq(), List.of(row), List.of());
    return row;
  }

  /** Runs a batch of {@link GroupCommit} requests (each a list of messages) in one transaction. */
  private static List<List<MessageRow>> insertBatch(Connection c, List<List<NewMessage>> requests)
      throws SQLException {
    List<NewMessage> all = new ArrayList<>();
    requests.forEach(all::addAll);
    List<MessageRow> rows = insertAll(c, all);
    List<List<MessageRow>> out = new ArrayList<>();
    int i = 0;
    for (List<NewMessage> r : requests) {
      out.add(rows.subList(i, i + r.size()));
      i += r.size();
    }
    return out;
  }

  /**
   * Adds messages with new UIDs and modseqs, in the order given (UIDs ascending in that order within a mailbox).
   * Each mailbox row is updated once, mailboxes in ascending id order (one lock order: no deadlocks).
   */
  private static List<MessageRow> insertAll(Connection c, List<NewMessage> msgs) throws SQLException {
    java.util.TreeMap<Long, Integer> counts = new java.util.TreeMap<>();
    java.util.Map<Long, Long> bytes = new java.util.HashMap<>();
    for (NewMessage m : msgs) {
      counts.merge(m.mailboxId(), 1, Integer::sum);
      bytes.merge(m.mailboxId(), m.blob().size(), Long::sum);
    }
    java.util.Map<Long, long[]> next = new java.util.HashMap<>();
    for (var e : counts.entrySet()) {
      next.put(e.getKey(), advance(c, e.getKey(), e.getValue(), e.getValue(), bytes.get(e.getKey())));
    }
    List<MessageRow> rows = new ArrayList<>(msgs.size());
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO messages (" + MESSAGE_COLUMNS
        + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
      for (NewMessage m : msgs) {
        long[] uidMod = next.get(m.mailboxId());
        long uid = uidMod[0]++;
        long modseq = uidMod[1]++;
        ps.setLong(1, m.mailboxId());
        ps.setLong(2, uid);
        ps.setString(3, m.blob().hash());
        ps.setLong(4, m.blob().size());
        ps.setTimestamp(5, Timestamp.from(m.date()));
        ps.setInt(6, m.flags());
        ps.setString(7, String.join(" ", m.keywords()));
        ps.setLong(8, modseq);
        ps.addBatch();
        rows.add(new MessageRow(m.mailboxId(), uid, m.blob().hash(), m.blob().size(), m.date(), m.flags(),
            Set.copyOf(m.keywords()), modseq));
      }
      ps.executeBatch();
    }
    return rows;
  }

  /**
   * Takes {@code uids} new UIDs and {@code modseqs} new modseqs of a mailbox and adds {@code bytes} (the new
   * messages' sizes) to its usage, locking its row; returns {first uid, first modseq}.
   */
  private static long[] advance(Connection c, long mailboxId, int uids, int modseqs, long bytes) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("UPDATE mailboxes SET uid_next = uid_next + ?,"
        + " highest_modseq = highest_modseq + ?, used_bytes = used_bytes + ? WHERE id = ?")) {
      ps.setInt(1, uids);
      ps.setInt(2, modseqs);
      ps.setLong(3, bytes);
      ps.setLong(4, mailboxId);
      if (ps.executeUpdate() == 0) {
        throw new RefusedException("no such mailbox");
      }
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT uid_next, highest_modseq FROM mailboxes WHERE id = ?")) {
      ps.setLong(1, mailboxId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new long[] {rs.getLong(1) - uids, rs.getLong(2) - modseqs + 1};
      }
    }
  }

  /** Every message of a mailbox, by ascending UID. */
  public List<MessageRow> messages(long mailboxId) {
    awaitIntake();
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE mailbox_id = ? ORDER BY uid")) {
        ps.setLong(1, mailboxId);
        return messageList(ps);
      }
    });
  }

  public Optional<MessageRow> message(long mailboxId, long uid) {
    awaitIntake();
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE mailbox_id = ? AND uid = ?")) {
        ps.setLong(1, mailboxId);
        ps.setLong(2, uid);
        return messageList(ps).stream().findFirst();
      }
    });
  }

  // ---- what changed since a modification sequence (RFC 7162; indexes in V004__imap.sql) --------------------------

  /** The mailbox's highest modification sequence, or -1 when it does not exist. */
  public long highestModseq(long mailboxId) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT highest_modseq FROM mailboxes WHERE id = ?")) {
        ps.setLong(1, mailboxId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getLong(1) : -1L;
        }
      }
    });
  }

  /** Messages added or changed after {@code modseq}, by UID (a session catching up without the whole mailbox). */
  public List<MessageRow> changedSince(long mailboxId, long modseq) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT " + MESSAGE_COLUMNS
          + " FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid")) {
        ps.setLong(1, mailboxId);
        ps.setLong(2, modseq);
        return messageList(ps);
      }
    });
  }

  /** UIDs expunged after {@code modseq} (RFC 7162 §3.2.10 VANISHED), ascending. */
  public List<Long> expungedSince(long mailboxId, long modseq) {
    return db.read(c -> {
      List<Long> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid")) {
        ps.setLong(1, mailboxId);
        ps.setLong(2, modseq);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(rs.getLong(1));
          }
        }
      }
      return out;
    });
  }

  static List<MessageRow> messageList(PreparedStatement ps) throws SQLException {
    List<MessageRow> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        String kw = rs.getString(7);
        Set<String> keywords = kw.isEmpty() ? Set.of() : Set.copyOf(Arrays.asList(kw.split(" ")));
        out.add(new MessageRow(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getLong(4),
            rs.getTimestamp(5).toInstant(), rs.getInt(6), keywords, rs.getLong(8)));
      }
    }
    return out;
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
    Taken<MessageRow> changed = db.tx(c -> {
      List<MessageRow> current = select(c, mailboxId, uids);
      List<MessageRow> out = new ArrayList<>();
      long modseq = 0;
      for (MessageRow m : current) {
        if (unchangedSince != null && m.modseq() > unchangedSince) {
          continue;
        }
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
        if (nf == m.flags() && nk.equals(new TreeSet<>(m.keywords()))) {
          continue;
        }
        if (modseq == 0) {
          modseq = advance(c, mailboxId, 0, 1, 0)[1];
        }
        try (PreparedStatement ps = c.prepareStatement(
            "UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?")) {
          ps.setInt(1, nf);
          ps.setString(2, String.join(" ", nk));
          ps.setLong(3, modseq);
          ps.setLong(4, mailboxId);
          ps.setLong(5, m.uid());
          if (ps.executeUpdate() == 0) {
            continue; // expunged by another session meanwhile
          }
        }
        out.add(new MessageRow(mailboxId, m.uid(), m.blob(), m.size(), m.internalDate(), nf, Set.copyOf(nk), modseq));
      }
      return new Taken<>(modseq, out);
    });
    if (changed.modseq() != 0) {
      events.committed(mailboxId, changed.modseq(), changed.modseq(), changed.items(), List.of());
    }
    return changed.items();
  }

  /** What a transaction changed under one new modseq (0: none taken). */
  private record Taken<T>(long modseq, List<T> items) {}

  /**
   * The rows of the given UIDs, by UID. Always the same two statement texts, so that Derby compiles them once (a
   * literal IN list was a new statement, compiled and loaded as a class, for every distinct set): a few UIDs are
   * looked up one by one, more are read as the range they span and filtered here.
   */
  private static List<MessageRow> select(Connection c, long mailboxId, Collection<Long> uids) throws SQLException {
    java.util.TreeSet<Long> wanted = new TreeSet<>(uids);
    List<MessageRow> out = new ArrayList<>();
    if (wanted.size() <= 8) {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE mailbox_id = ? AND uid = ?")) {
        for (long uid : wanted) {
          ps.setLong(1, mailboxId);
          ps.setLong(2, uid);
          out.addAll(messageList(ps));
        }
      }
      return out;
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT " + MESSAGE_COLUMNS
        + " FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid")) {
      ps.setLong(1, mailboxId);
      ps.setLong(2, wanted.first());
      ps.setLong(3, wanted.last());
      for (MessageRow m : messageList(ps)) {
        if (wanted.contains(m.uid())) {
          out.add(m);
        }
      }
    }
    return out;
  }

  /** Removes the given UIDs (IMAP EXPUNGE, POP3 UPDATE state); returns the UIDs that were removed. */
  public List<Long> expunge(long mailboxId, Collection<Long> uids) {
    if (uids.isEmpty()) {
      return List.of();
    }
    Taken<Long> removed = db.tx(c -> {
      List<MessageRow> present = select(c, mailboxId, uids);
      if (present.isEmpty()) {
        return new Taken<Long>(0, List.of());
      }
      long modseq = advance(c, mailboxId, 0, 1, 0)[1];
      List<Long> out = new ArrayList<>();
      long freed = 0;
      try (PreparedStatement del = c.prepareStatement("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?");
          PreparedStatement rec = c.prepareStatement("INSERT INTO expunged VALUES (?, ?, ?)")) {
        for (MessageRow m : present) {
          del.setLong(1, mailboxId);
          del.setLong(2, m.uid());
          if (del.executeUpdate() == 0) {
            continue; // another session expunged it between our read and our lock on the mailbox
          }
          rec.setLong(1, mailboxId);
          rec.setLong(2, m.uid());
          rec.setLong(3, modseq);
          rec.executeUpdate();
          out.add(m.uid());
          freed += m.size();
        }
      }
      if (freed > 0) {
        try (PreparedStatement ps = c.prepareStatement(
            "UPDATE mailboxes SET used_bytes = used_bytes - ? WHERE id = ?")) {
          ps.setLong(1, freed);
          ps.setLong(2, mailboxId);
          ps.executeUpdate();
        }
      }
      return new Taken<>(modseq, out);
    });
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
    List<String> hashes = db.read(c -> select(c, fromMailboxId, uids)).stream().map(MessageRow::blob).toList();
    List<MessageRow> rows;
    try (BlobStore.Claim claim = blobs.claim(hashes)) {
      rows = db.tx(c -> {
        List<NewMessage> msgs = new ArrayList<>();
        for (MessageRow m : select(c, fromMailboxId, uids)) {
          msgs.add(new NewMessage(toMailboxId, new BlobRef(m.blob(), m.size()), m.internalDate(), m.flags(),
              m.keywords()));
        }
        return insertAll(c, msgs);
      });
    }
    if (!rows.isEmpty()) {
      events.committed(toMailboxId, rows.getFirst().modseq(), rows.getLast().modseq(), rows, List.of());
    }
    return rows;
  }

  /** Bytes used by all messages of an account (for quotas). */
  public long usage(long accountId) {
    awaitIntake();
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT COALESCE(SUM(used_bytes), 0) FROM mailboxes WHERE account_id = ?")) {
        ps.setLong(1, accountId);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }
    });
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
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM messages WHERE blob = ? FETCH FIRST 1 ROWS ONLY")) {
        ps.setString(1, hash);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      }
    });
  }
}
