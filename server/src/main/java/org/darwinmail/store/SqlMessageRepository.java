package org.darwinmail.store;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Mailboxes and messages in SQL that Derby and PostgreSQL both run as it is, so one class serves both engines
 * ({@code MessageRepositoryContract} runs it on each). A mailbox row is the one lock of every change to its
 * messages: its UPDATE takes the next UIDs and modseqs and holds the row until commit, on either engine, so two
 * nodes appending to one mailbox take turns and get distinct UIDs and increasing modseqs. Several mailboxes are
 * locked in ascending id order (one lock order: no deadlocks).
 */
public final class SqlMessageRepository implements MessageRepository {
  private static final String MAILBOX_COLUMNS =
      "id, account_id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq";
  private static final String MESSAGE_COLUMNS = "mailbox_id, uid, blob, size, internal_date, flags, keywords, modseq, save_date";

  private final SqlRunner db;
  private final GroupCommit<List<NewMessage>, List<MessageRow>> inserts;
  private volatile BlobStore.Fence fence = BlobStore.Fence.NONE;

  public SqlMessageRepository(SqlRunner db) {
    this.db = db;
    this.inserts = new GroupCommit<>(db, 64, this::insertBatch);
  }

  @Override
  public boolean shared() {
    return db.shared();
  }

  // ---- mailboxes -------------------------------------------------------------------------------------------

  @Override
  public Mailbox createMailbox(long accountId, String name, String specialUse) {
    return db.tx(c -> {
      Mailbox m = createMailbox(c, accountId, name, specialUse);
      ClusterEvents.send(db, c, ClusterEvents.Topic.MAILBOXES, (String) null);
      return m;
    });
  }

  /** Creates a mailbox in the caller's transaction (also a new account's, {@link SqlDirectoryRepository}). */
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
      try {
        ps.executeUpdate();
      } catch (SQLException e) {
        if ("23505".equals(e.getSQLState())) { // another session created it since our check
          throw new RefusedException("mailbox exists: " + name);
        }
        throw e;
      }
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

  @Override
  public List<Mailbox> mailboxes(long accountId) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + MAILBOX_COLUMNS + " FROM mailboxes WHERE account_id = ? ORDER BY name")) {
        ps.setLong(1, accountId);
        return mailboxList(ps);
      }
    });
  }

  @Override
  public Optional<Mailbox> mailbox(long accountId, String name) {
    return db.read(c -> findMailbox(c, accountId, name));
  }

  @Override
  public Optional<Mailbox> mailbox(long mailboxId) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT " + MAILBOX_COLUMNS + " FROM mailboxes WHERE id = ?")) {
        ps.setLong(1, mailboxId);
        return mailboxList(ps).stream().findFirst();
      }
    });
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

  @Override
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
      ClusterEvents.send(db, c, ClusterEvents.Topic.MAILBOXES, (String) null);
      ClusterEvents.send(db, c, ClusterEvents.Topic.MAILBOX, Long.toString(mailboxId));
      return null;
    });
  }

  @Override
  public void renameMailbox(long accountId, String f, String t) {
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
        List<Long> ids = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try (ResultSet rs = sel.executeQuery()) {
          while (rs.next()) {
            ids.add(rs.getLong(1));
            names.add(rs.getString(2));
          }
        }
        try (PreparedStatement up = c.prepareStatement("UPDATE mailboxes SET name = ? WHERE id = ?")) {
          for (int i = 0; i < ids.size(); i++) {
            up.setString(1, t + names.get(i).substring(f.length()));
            up.setLong(2, ids.get(i));
            up.executeUpdate();
          }
        }
      }
      ClusterEvents.send(db, c, ClusterEvents.Topic.MAILBOXES, (String) null);
      return null;
    });
  }

  @Override
  public void setSubscribed(long mailboxId, boolean subscribed) {
    db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE mailboxes SET subscribed = ? WHERE id = ?")) {
        ps.setInt(1, subscribed ? 1 : 0);
        ps.setLong(2, mailboxId);
        int n = ps.executeUpdate();
        // other nodes' IMAP NOTIFY sessions hear of it (SubscriptionChange) as of a rename
        ClusterEvents.send(db, c, ClusterEvents.Topic.MAILBOXES, (String) null);
        return n;
      }
    });
  }

  @Override
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

  @Override
  public boolean dropOrphanSubscription(long accountId, String name) {
    return db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "DELETE FROM orphan_subscriptions WHERE account_id = ? AND name = ?")) {
        ps.setLong(1, accountId);
        ps.setString(2, name);
        return ps.executeUpdate() > 0;
      }
    });
  }

  @Override
  public long recentUid(long mailboxId) {
    return longOf("SELECT recent_uid FROM mailboxes WHERE id = ?", mailboxId, 0L);
  }

  /**
   * An UPDATE whose WHERE names the value read: Derby holds the row's lock for the UPDATE, while a SELECT ... FOR
   * UPDATE at READ COMMITTED lets it go when the cursor moves on.
   */
  @Override
  public boolean moveRecentMark(long mailboxId, long expected, long to) {
    return db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE mailboxes SET recent_uid = ? WHERE id = ? AND recent_uid = ?")) {
        ps.setLong(1, to);
        ps.setLong(2, mailboxId);
        ps.setLong(3, expected);
        return ps.executeUpdate();
      }
    }) == 1;
  }

  @Override
  public long highestModseq(long mailboxId) {
    return longOf("SELECT highest_modseq FROM mailboxes WHERE id = ?", mailboxId, -1L);
  }

  @Override
  public Map<Long, Long> highestModseqs(Collection<Long> mailboxIds) {
    List<Long> ids = List.copyOf(new TreeSet<>(mailboxIds));
    Map<Long, Long> out = new HashMap<>();
    for (int from = 0; from < ids.size(); from += 200) {
      List<Long> chunk = ids.subList(from, Math.min(ids.size(), from + 200));
      db.read(c -> {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, highest_modseq FROM mailboxes WHERE id IN ("
            + String.join(", ", java.util.Collections.nCopies(chunk.size(), "?")) + ")")) {
          for (int i = 0; i < chunk.size(); i++) {
            ps.setLong(i + 1, chunk.get(i));
          }
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.put(rs.getLong(1), rs.getLong(2));
            }
          }
        }
        return null;
      });
    }
    return out;
  }

  @Override
  public long usage(long accountId) {
    return longOf("SELECT COALESCE(SUM(used_bytes), 0) FROM mailboxes WHERE account_id = ?", accountId, 0L);
  }

  @Override
  public boolean accountExists(long accountId) {
    return longOf("SELECT 1 FROM accounts WHERE id = ?", accountId, 0L) == 1;
  }

  /** The first column of the first row of a query with one id argument, or {@code none} without a row. */
  private long longOf(String sql, long id, long none) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setLong(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getLong(1) : none;
        }
      }
    });
  }

  // ---- adding messages -------------------------------------------------------------------------------------

  @Override
  public void fenceClaims(BlobStore.Fence fence) {
    this.fence = fence;
  }

  @Override
  public List<MessageRow> append(List<NewMessage> messages) {
    return inserts.submit(messages);
  }

  @Override
  public List<MessageRow> appendJournaled(List<NewMessage> messages, long appliedSeq) {
    return db.tx(c -> {
      List<MessageRow> r = insertAll(c, messages);
      try (PreparedStatement ps = c.prepareStatement("UPDATE intake SET applied_seq = ? WHERE id = 1")) {
        ps.setLong(1, appliedSeq);
        ps.executeUpdate();
      }
      return r;
    });
  }

  @Override
  public long intakeApplied() {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT applied_seq FROM intake WHERE id = 1");
          ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0L;
      }
    });
  }

  /** Runs a batch of {@link GroupCommit} requests (each a list of messages) in one transaction. */
  private List<List<MessageRow>> insertBatch(Connection c, List<List<NewMessage>> requests)
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
  private List<MessageRow> insertAll(Connection c, List<NewMessage> msgs) throws SQLException {
    TreeMap<Long, Integer> counts = new TreeMap<>();
    Map<Long, Long> bytes = new HashMap<>();
    for (NewMessage m : msgs) {
      counts.merge(m.mailboxId(), 1, Integer::sum);
      bytes.merge(m.mailboxId(), m.blob().size(), Long::sum);
    }
    Map<Long, long[]> next = new HashMap<>();
    for (var e : counts.entrySet()) {
      next.put(e.getKey(), advance(c, e.getKey(), e.getValue(), e.getValue(), bytes.get(e.getKey())));
    }
    List<MessageRow> rows = new ArrayList<>(msgs.size());
    // RFC 8514 §3: the save date is now, for a copy too; whole milliseconds, as both engines store them
    Instant saved = Instant.ofEpochMilli(System.currentTimeMillis());
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO messages (" + MESSAGE_COLUMNS
        + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
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
        ps.setTimestamp(9, Timestamp.from(saved));
        ps.addBatch();
        rows.add(new MessageRow(m.mailboxId(), uid, m.blob().hash(), m.blob().size(), m.date(), m.flags(),
            Set.copyOf(m.keywords()), modseq, saved));
      }
      ps.executeBatch();
    }
    fence.check(c, msgs.stream().map(m -> m.blob().hash()).toList()); // before the commit, in this transaction
    if (ClusterEvents.sent(db) && !next.isEmpty()) { // no keys built on Derby, where nobody listens
      List<String> reached = new ArrayList<>();
      next.forEach((id, uidMod) -> reached.add(id + ":" + (uidMod[1] - 1)));
      ClusterEvents.send(db, c, ClusterEvents.Topic.MAILBOX, reached); // one notification for the whole batch
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

  // ---- reading messages ------------------------------------------------------------------------------------

  @Override
  public List<MessageRow> messages(long mailboxId) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE mailbox_id = ? ORDER BY uid")) {
        ps.setLong(1, mailboxId);
        return messageList(ps);
      }
    });
  }

  @Override
  public void eachMessage(long mailboxId, java.util.function.Consumer<MessageRow> each) {
    db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE mailbox_id = ? ORDER BY uid")) {
        ps.setLong(1, mailboxId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            each.accept(messageRow(rs));
          }
        }
      }
      return null;
    });
  }

  @Override
  public long count(long mailboxId) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM messages WHERE mailbox_id = ?")) {
        ps.setLong(1, mailboxId);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }
    });
  }

  @Override
  public List<MessageRow> messages(long mailboxId, Collection<Long> uids) {
    return db.read(c -> select(c, mailboxId, uids));
  }

  @Override
  public Optional<MessageRow> message(long mailboxId, long uid) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + MESSAGE_COLUMNS + " FROM messages WHERE mailbox_id = ? AND uid = ?")) {
        ps.setLong(1, mailboxId);
        ps.setLong(2, uid);
        return messageList(ps).stream().findFirst();
      }
    });
  }

  // what changed since a modification sequence (RFC 7162; indexes in V004__imap.sql)

  @Override
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

  @Override
  public List<Long> expungedSince(long mailboxId, long modseq) {
    return db.read(c -> {
      List<Long> out = new ArrayList<>();
      // Each row is a run of consecutive UIDs removed together (V019).
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT uid, last_uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid")) {
        ps.setLong(1, mailboxId);
        ps.setLong(2, modseq);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            for (long uid = rs.getLong(1), last = rs.getLong(2); uid <= last; uid++) {
              out.add(uid);
            }
          }
        }
      }
      return out;
    });
  }

  private static List<MessageRow> messageList(PreparedStatement ps) throws SQLException {
    List<MessageRow> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(messageRow(rs));
      }
    }
    return out;
  }

  /** The row at {@code rs}'s cursor, read with {@link #MESSAGE_COLUMNS}. */
  private static MessageRow messageRow(ResultSet rs) throws SQLException {
    String kw = rs.getString(7);
    Set<String> keywords = kw.isEmpty() ? Set.of() : Set.copyOf(Arrays.asList(kw.split(" ")));
    Instant internal = rs.getTimestamp(5).toInstant();
    Timestamp saved = rs.getTimestamp(9);
    return new MessageRow(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getLong(4), internal, rs.getInt(6),
        keywords, rs.getLong(8), saved == null ? internal : saved.toInstant());
  }

  /**
   * The rows of the given UIDs, by UID. Always the same two statement texts, so that Derby compiles them once (a
   * literal IN list was a new statement, compiled and loaded as a class, for every distinct set): a few UIDs are
   * looked up one by one, more are read as the range they span and filtered here.
   */
  private static List<MessageRow> select(Connection c, long mailboxId, Collection<Long> uids) throws SQLException {
    TreeSet<Long> wanted = new TreeSet<>(uids);
    List<MessageRow> out = new ArrayList<>();
    if (wanted.isEmpty()) {
      return out;
    }
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

  // ---- changing messages -----------------------------------------------------------------------------------

  @Override
  public Changes<MessageRow> store(long mailboxId, Collection<Long> uids, Long unchangedSince,
      Function<MessageRow, Flagging> change) {
    return db.tx(c -> {
      if (changes(select(c, mailboxId, uids), unchangedSince, change).isEmpty()) {
        return new Changes<MessageRow>(0, List.of()); // nothing to change: no lock, no modseq
      }
      // Lock the mailbox row, then read again: every writer of its messages holds that lock, so the flags changed
      // are the ones stored now (two sessions adding different flags at once both keep theirs).
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE mailboxes SET highest_modseq = highest_modseq WHERE id = ?")) {
        ps.setLong(1, mailboxId);
        ps.executeUpdate();
      }
      List<Map.Entry<MessageRow, Flagging>> todo = changes(select(c, mailboxId, uids), unchangedSince, change);
      List<MessageRow> out = new ArrayList<>();
      long modseq = 0;
      for (Map.Entry<MessageRow, Flagging> e : todo) {
        MessageRow m = e.getKey();
        Flagging f = e.getValue();
        if (modseq == 0) {
          modseq = advance(c, mailboxId, 0, 1, 0)[1];
        }
        try (PreparedStatement ps = c.prepareStatement(
            "UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?")) {
          ps.setInt(1, f.flags());
          ps.setString(2, String.join(" ", f.keywords()));
          ps.setLong(3, modseq);
          ps.setLong(4, mailboxId);
          ps.setLong(5, m.uid());
          if (ps.executeUpdate() == 0) {
            continue; // expunged by another session meanwhile
          }
        }
        out.add(new MessageRow(mailboxId, m.uid(), m.blob(), m.size(), m.internalDate(), f.flags(),
            Set.copyOf(f.keywords()), modseq, m.saveDate()));
      }
      if (modseq != 0) {
        ClusterEvents.send(db, c, ClusterEvents.Topic.MAILBOX, mailboxId + ":" + modseq);
      }
      return new Changes<>(modseq, out);
    });
  }

  /** The messages {@code change} changes (and {@code unchangedSince} lets it), with their new flags. */
  private static List<Map.Entry<MessageRow, Flagging>> changes(List<MessageRow> rows, Long unchangedSince,
      Function<MessageRow, Flagging> change) {
    List<Map.Entry<MessageRow, Flagging>> out = new ArrayList<>();
    for (MessageRow m : rows) {
      if (unchangedSince != null && m.modseq() > unchangedSince) {
        continue;
      }
      Flagging f = change.apply(m);
      if (f != null) {
        out.add(Map.entry(m, f));
      }
    }
    return out;
  }

  @Override
  public Changes<Long> expunge(long mailboxId, Collection<Long> uids) {
    return db.tx(c -> {
      if (select(c, mailboxId, uids).isEmpty()) {
        return new Changes<Long>(0, List.of());
      }
      long modseq = advance(c, mailboxId, 0, 1, 0)[1];
      // Read again under the mailbox row's lock, which every expunge takes (advance) before deleting: a row another
      // expunge removed before we took it is not counted as ours, and nobody else removes one until we commit.
      List<MessageRow> present = select(c, mailboxId, uids);
      List<Long> out = new ArrayList<>(present.size());
      long freed = 0;
      for (MessageRow m : present) {
        out.add(m.uid());
        freed += m.size();
      }
      // One statement per run of neighbouring messages (no other message of the mailbox between them), not per
      // message: the blob-candidates trigger (V007) runs once per statement, and it was most of the cost of a POP3
      // QUIT that deletes 1,000 messages (one run when a client deletes all it downloaded).
      try (PreparedStatement del = c.prepareStatement(
          "DELETE FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ?")) {
        for (long[] run : runs(c, mailboxId, out)) {
          del.setLong(1, mailboxId);
          del.setLong(2, run[0]);
          del.setLong(3, run[1]);
          int n = del.executeUpdate();
          if (n != run[2]) {
            throw new IllegalStateException("expunge of mailbox " + mailboxId + " removed " + n + " rows of "
                + run[2] + " read under its lock");
          }
        }
      }
      // One row per run of consecutive UIDs (V019): a client deleting all it downloaded writes one row, not one per
      // message. Not the runs of neighbours above: a UID between two neighbours may have gone earlier, and VANISHED
      // (EARLIER) must not name it again as removed since a later modseq.
      try (PreparedStatement rec = c.prepareStatement(
          "INSERT INTO expunged (mailbox_id, uid, last_uid, modseq) VALUES (?, ?, ?, ?)")) {
        for (int i = 0; i < out.size(); ) {
          int j = i;
          while (j + 1 < out.size() && out.get(j + 1) == out.get(j) + 1) {
            j++;
          }
          rec.setLong(1, mailboxId);
          rec.setLong(2, out.get(i));
          rec.setLong(3, out.get(j));
          rec.setLong(4, modseq);
          rec.addBatch();
          i = j + 1;
        }
        rec.executeBatch();
      }
      if (freed > 0) {
        try (PreparedStatement ps = c.prepareStatement(
            "UPDATE mailboxes SET used_bytes = used_bytes - ? WHERE id = ?")) {
          ps.setLong(1, freed);
          ps.setLong(2, mailboxId);
          ps.executeUpdate();
        }
      }
      ClusterEvents.send(db, c, ClusterEvents.Topic.MAILBOX, mailboxId + ":" + modseq);
      return new Changes<>(modseq, out);
    });
  }

  /**
   * The runs of {@code uids} (ascending, present) among the mailbox's messages: {first uid, last uid, count} for
   * each maximal sequence with no other message of the mailbox between its first and last.
   */
  private static List<long[]> runs(Connection c, long mailboxId, List<Long> uids) throws SQLException {
    List<long[]> runs = new ArrayList<>();
    if (uids.isEmpty()) {
      return runs;
    }
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT uid FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid")) {
      ps.setLong(1, mailboxId);
      ps.setLong(2, uids.getFirst());
      ps.setLong(3, uids.getLast());
      try (ResultSet rs = ps.executeQuery()) {
        int next = 0; // the index in uids of the next wanted uid
        long[] run = null;
        while (rs.next() && next < uids.size()) {
          long uid = rs.getLong(1);
          if (uid == uids.get(next)) {
            if (run == null) {
              run = new long[] {uid, uid, 0};
              runs.add(run);
            }
            run[1] = uid;
            run[2]++;
            next++;
          } else {
            run = null; // a message that stays: the run ends
          }
        }
      }
    }
    return runs;
  }

  @Override
  public List<MessageRow> copy(long fromMailboxId, Collection<Long> uids, long toMailboxId) {
    return db.tx(c -> {
      List<NewMessage> msgs = new ArrayList<>();
      for (MessageRow m : select(c, fromMailboxId, uids)) {
        msgs.add(new NewMessage(toMailboxId, new BlobRef(m.blob(), m.size()), m.internalDate(), m.flags(),
            m.keywords()));
      }
      return insertAll(c, msgs);
    });
  }

  @Override
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

  @Override
  public java.util.Set<String> blobsReferenced(String prefix) {
    return db.read(c -> BlobPrefix.read(c, "messages", "blob", prefix));
  }
}
