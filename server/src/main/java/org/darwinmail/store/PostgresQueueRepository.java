package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The outbound queue's tables (migration V002) in PostgreSQL, shared by every node (issue 20). The same rows and
 * the same answers as {@link DerbyQueueRepository}; what differs is the locking. Derby needs one writer at a time
 * (its "last recipient?" check deadlocks, found only after a timeout); here removals lock the message row first
 * ({@code SELECT ... FOR UPDATE}, in ascending id order within a batch), so that two nodes removing the last two
 * recipients of one message take turns and the second one sees the first one's deletion and removes the message.
 * Additions and removals finished together still share a commit ({@link GroupCommit}).
 */
public final class PostgresQueueRepository implements QueueRepository {
  private static final String RCPT_COLUMNS = "id, message_id, recipient, domain, attempts, next_attempt, last_error";
  private static final String ENTRY_COLUMNS = "id, sender, blob, size, smtputf8, account, created_at, warned";
  private final SqlRunner db;
  private final GroupCommit<Removal, Void> removals;
  private final GroupCommit<Addition, List<Rcpt>> additions;

  private record Removal(long messageId, List<Long> rcptIds) {}

  private record Addition(String sender, List<String> recipients, String blob, long size, boolean smtputf8,
      String account, Instant at) {}

  public PostgresQueueRepository(SqlRunner db) {
    this.db = db;
    this.removals = new GroupCommit<>(db, 64, (c, batch) -> {
      List<Removal> ordered = new ArrayList<>(batch);
      ordered.sort(Comparator.comparingLong(Removal::messageId)); // one lock order: no deadlock between batches
      for (Removal r : ordered) {
        delete(c, r);
      }
      return java.util.Collections.nCopies(batch.size(), null);
    });
    this.additions = new GroupCommit<>(db, 64, (c, batch) -> {
      List<List<Rcpt>> out = new ArrayList<>();
      for (Addition a : batch) {
        out.add(insert(c, a));
      }
      return out;
    });
  }

  @Override
  public List<Rcpt> add(String sender, List<String> recipients, String blob, long size, boolean smtputf8,
      String account) {
    return additions.submit(new Addition(sender, List.copyOf(recipients), blob, size, smtputf8, account,
        Instant.now()));
  }

  private static List<Rcpt> insert(Connection c, Addition a) throws SQLException {
    Instant now = a.at();
    long id;
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO queue_messages (sender, blob, size, smtputf8,"
        + " account, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id")) {
      ps.setString(1, a.sender());
      ps.setString(2, a.blob());
      ps.setLong(3, a.size());
      ps.setShort(4, (short) (a.smtputf8() ? 1 : 0));
      ps.setString(5, a.account());
      ps.setTimestamp(6, Timestamp.from(now));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        id = rs.getLong(1);
      }
    }
    List<Rcpt> rows = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO queue_recipients (message_id, recipient, domain,"
        + " next_attempt) VALUES (?, ?, ?, ?) RETURNING id")) {
      for (String r : a.recipients()) {
        String domain = domainOf(r);
        ps.setLong(1, id);
        ps.setString(2, r);
        ps.setString(3, domain);
        ps.setTimestamp(4, Timestamp.from(now));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          rows.add(new Rcpt(rs.getLong(1), id, r, domain, 0, now, null));
        }
      }
    }
    return rows;
  }

  private static String domainOf(String address) {
    String d = address.substring(address.lastIndexOf('@') + 1);
    String a = Addresses.domain(d);
    return a == null ? d.toLowerCase(java.util.Locale.ROOT) : a;
  }

  @Override
  public List<Rcpt> due(Instant now, int limit) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT " + RCPT_COLUMNS + " FROM queue_recipients"
          + " WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT ?")) {
        ps.setTimestamp(1, Timestamp.from(now));
        ps.setInt(2, limit);
        return rcpts(ps);
      }
    });
  }

  /**
   * One statement: the due rows are locked with {@code FOR UPDATE SKIP LOCKED}, so a concurrent claimer passes over
   * the rows this one is taking instead of waiting for them (and then finding them no longer due) or taking them too.
   */
  @Override
  public List<Rcpt> claim(Instant now, int limit, Instant leaseUntil) {
    return db.tx(c -> {
      List<Rcpt> out;
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ? WHERE id IN"
          + " (SELECT id FROM queue_recipients WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT ?"
          + " FOR UPDATE SKIP LOCKED) RETURNING " + RCPT_COLUMNS)) {
        ps.setTimestamp(1, Timestamp.from(leaseUntil));
        ps.setTimestamp(2, Timestamp.from(now));
        ps.setInt(3, limit);
        out = rcpts(ps);
      }
      out.sort(Comparator.comparingLong(Rcpt::id));
      return out;
    });
  }

  @Override
  public Instant nextDueAfter(Instant now) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT MIN(next_attempt) FROM queue_recipients"
          + " WHERE next_attempt > ?")) {
        ps.setTimestamp(1, Timestamp.from(now));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          Timestamp t = rs.getTimestamp(1);
          return t == null ? null : t.toInstant();
        }
      }
    });
  }

  @Override
  public List<Rcpt> recipients(long messageId) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT " + RCPT_COLUMNS + " FROM queue_recipients"
          + " WHERE message_id = ? ORDER BY id")) {
        ps.setLong(1, messageId);
        return rcpts(ps);
      }
    });
  }

  private static List<Rcpt> rcpts(PreparedStatement ps) throws SQLException {
    List<Rcpt> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(new Rcpt(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getInt(5),
            rs.getTimestamp(6).toInstant(), rs.getString(7)));
      }
    }
    return out;
  }

  @Override
  public Optional<Entry> message(long id) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT " + ENTRY_COLUMNS + " FROM queue_messages"
          + " WHERE id = ?")) {
        ps.setLong(1, id);
        List<Entry> l = entries(ps);
        return l.isEmpty() ? Optional.<Entry>empty() : Optional.of(l.getFirst());
      }
    });
  }

  @Override
  public Map<Entry, List<Rcpt>> list() {
    // One transaction at REPEATABLE READ: both reads see the same snapshot, as another node changes the queue.
    return db.tx(c -> {
      try (Statement s = c.createStatement()) {
        s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      }
      Map<Entry, List<Rcpt>> out = new LinkedHashMap<>();
      Map<Long, Entry> byId = new LinkedHashMap<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT " + ENTRY_COLUMNS + " FROM queue_messages"
          + " ORDER BY id")) {
        for (Entry e : entries(ps)) {
          byId.put(e.id(), e);
          out.put(e, new ArrayList<>());
        }
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT " + RCPT_COLUMNS + " FROM queue_recipients"
          + " ORDER BY message_id, id")) {
        for (Rcpt r : rcpts(ps)) {
          Entry e = byId.get(r.messageId());
          if (e != null) {
            out.get(e).add(r);
          }
        }
      }
      return out;
    });
  }

  private static List<Entry> entries(PreparedStatement ps) throws SQLException {
    List<Entry> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(new Entry(rs.getLong(1), rs.getString(2), rs.getString(3).trim(), rs.getLong(4),
            rs.getShort(5) != 0, rs.getString(6), rs.getTimestamp(7).toInstant(), rs.getShort(8) != 0));
      }
    }
    return out;
  }

  @Override
  public void remove(long messageId, List<Long> rcptIds) {
    if (!rcptIds.isEmpty()) {
      removals.submit(new Removal(messageId, List.copyOf(rcptIds)));
    }
  }

  /** Locks the message row, deletes the recipients, then the message when it has none left. */
  private static void delete(Connection c, Removal r) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT id FROM queue_messages WHERE id = ? FOR UPDATE")) {
      ps.setLong(1, r.messageId());
      ps.executeQuery().close();
    }
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM queue_recipients WHERE id = ANY (?)")) {
      ps.setArray(1, c.createArrayOf("bigint", r.rcptIds().toArray()));
      ps.executeUpdate();
    }
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM queue_messages m WHERE m.id = ?"
        + " AND NOT EXISTS (SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id)")) {
      ps.setLong(1, r.messageId());
      ps.executeUpdate();
    }
  }

  @Override
  public void deferred(List<Long> rcptIds, Instant next, String error) {
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET attempts = attempts + 1,"
          + " next_attempt = ?, last_error = ? WHERE id = ANY (?)")) {
        ps.setTimestamp(1, Timestamp.from(next));
        ps.setString(2, error == null || error.length() <= 1000 ? error : error.substring(0, 1000));
        ps.setArray(3, c.createArrayOf("bigint", rcptIds.toArray()));
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public void markWarned(long messageId) {
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_messages SET warned = 1 WHERE id = ?")) {
        ps.setLong(1, messageId);
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public int retryNow(List<Long> messageIds) {
    return db.tx(c -> {
      String where = messageIds.isEmpty() ? "" : " WHERE message_id = ANY (?)";
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ?" + where)) {
        ps.setTimestamp(1, Timestamp.from(Instant.now()));
        if (!messageIds.isEmpty()) {
          ps.setArray(2, c.createArrayOf("bigint", messageIds.toArray()));
        }
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public int delete(List<Long> messageIds) {
    return db.tx(c -> {
      Object[] ids = messageIds.toArray();
      // The message rows first, in id order, as a removal takes them: no lock cycle with a delivery finishing.
      try (PreparedStatement l = c.prepareStatement("SELECT id FROM queue_messages WHERE id = ANY (?) ORDER BY id"
          + " FOR UPDATE")) {
        l.setArray(1, c.createArrayOf("bigint", ids));
        l.executeQuery().close();
      }
      try (PreparedStatement r = c.prepareStatement("DELETE FROM queue_recipients WHERE message_id = ANY (?)");
          PreparedStatement m = c.prepareStatement("DELETE FROM queue_messages WHERE id = ANY (?)")) {
        r.setArray(1, c.createArrayOf("bigint", ids));
        r.executeUpdate();
        m.setArray(1, c.createArrayOf("bigint", ids));
        return m.executeUpdate();
      }
    });
  }

  @Override
  public boolean blobReferenced(String hash) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM queue_messages WHERE blob = ?")) {
        ps.setString(1, hash);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  @Override
  public long size() {
    return db.read(c -> {
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM queue_recipients")) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }
}
