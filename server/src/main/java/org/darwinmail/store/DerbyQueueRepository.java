package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The outbound queue's tables in Derby (migration V002: queue_messages, queue_recipients). Portable SQL only
 * (FETCH FIRST is SQL:2008), so that another back end (issue 20) can start from it.
 */
public final class DerbyQueueRepository implements QueueRepository {
  /**
   * Serialises the queue's writes. Derby locks rows, and concurrent transactions removing recipients of one
   * message (one per destination) can deadlock on its "last recipient?" check, which Derby only detects after
   * its deadlock timeout (20 s); the writes are short, so one at a time costs nothing measurable.
   */
  private static final java.util.concurrent.locks.ReentrantLock WRITES = new java.util.concurrent.locks.ReentrantLock();
  private final Database db;
  /** Removals finished together share one transaction (one log force), under {@link #WRITES} like any write. */
  private final GroupCommit<Removal, Void> removals;
  /** Messages queued together share one transaction. */
  private final GroupCommit<Addition, List<Rcpt>> additions;

  private record Removal(long messageId, List<Long> rcptIds) {}

  private record Addition(String sender, List<String> recipients, String blob, long size, boolean smtputf8,
      String account, Instant at) {}

  private <T> T write(Database.SqlWork<T> work) {
    WRITES.lock();
    try {
      return db.tx(work);
    } finally {
      WRITES.unlock();
    }
  }

  public DerbyQueueRepository(Database db) {
    this.db = db;
    this.removals = new GroupCommit<>(db, 64, WRITES, (c, batch) -> {
      for (Removal r : batch) {
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

  // Not serialised by WRITES: inserting new rows takes no lock another transaction waits for in a cycle.
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
        + " account, created_at) VALUES (?, ?, ?, ?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
      ps.setString(1, a.sender());
      ps.setString(2, a.blob());
      ps.setLong(3, a.size());
      ps.setShort(4, (short) (a.smtputf8() ? 1 : 0));
      ps.setString(5, a.account());
      ps.setTimestamp(6, Timestamp.from(now));
      ps.executeUpdate();
      try (ResultSet rs = ps.getGeneratedKeys()) {
        rs.next();
        id = rs.getLong(1);
      }
    }
    List<Rcpt> rows = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO queue_recipients (message_id, recipient, domain,"
        + " next_attempt) VALUES (?, ?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
      for (String r : a.recipients()) {
        String domain = domainOf(r);
        ps.setLong(1, id);
        ps.setString(2, r);
        ps.setString(3, domain);
        ps.setTimestamp(4, Timestamp.from(now));
        ps.executeUpdate();
        try (ResultSet rs = ps.getGeneratedKeys()) {
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
      try (PreparedStatement ps = c.prepareStatement("SELECT id, message_id, recipient, domain, attempts,"
          + " next_attempt, last_error FROM queue_recipients WHERE next_attempt <= ? ORDER BY next_attempt, id"
          + " FETCH FIRST " + limit + " ROWS ONLY")) {
        ps.setTimestamp(1, Timestamp.from(now));
        return rcpts(ps);
      }
    });
  }

  /** Under {@link #WRITES}: Derby serves one process, and its claimers take turns there. */
  @Override
  public List<Rcpt> claim(Instant now, int limit, Instant leaseUntil) {
    return write(c -> {
      List<Rcpt> due;
      try (PreparedStatement ps = c.prepareStatement("SELECT id, message_id, recipient, domain, attempts,"
          + " next_attempt, last_error FROM queue_recipients WHERE next_attempt <= ? ORDER BY next_attempt, id"
          + " FETCH FIRST " + limit + " ROWS ONLY")) {
        ps.setTimestamp(1, Timestamp.from(now));
        due = rcpts(ps);
      }
      List<Rcpt> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ? WHERE id = ?")) {
        for (Rcpt r : due) {
          ps.setTimestamp(1, Timestamp.from(leaseUntil));
          ps.setLong(2, r.id());
          ps.addBatch();
          out.add(new Rcpt(r.id(), r.messageId(), r.recipient(), r.domain(), r.attempts(), leaseUntil,
              r.lastError()));
        }
        ps.executeBatch();
      }
      out.sort(java.util.Comparator.comparingLong(Rcpt::id));
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
      try (PreparedStatement ps = c.prepareStatement("SELECT id, message_id, recipient, domain, attempts,"
          + " next_attempt, last_error FROM queue_recipients WHERE message_id = ? ORDER BY id")) {
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
  public java.util.Optional<Entry> message(long id) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT id, sender, blob, size, smtputf8, account, created_at,"
          + " warned FROM queue_messages WHERE id = ?")) {
        ps.setLong(1, id);
        List<Entry> l = entries(ps);
        return l.isEmpty() ? java.util.Optional.<Entry>empty() : java.util.Optional.of(l.getFirst());
      }
    });
  }

  @Override
  public Map<Entry, List<Rcpt>> list() {
    return db.read(c -> {
      Map<Entry, List<Rcpt>> out = new LinkedHashMap<>();
      Map<Long, Entry> byId = new LinkedHashMap<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT id, sender, blob, size, smtputf8, account, created_at,"
          + " warned FROM queue_messages ORDER BY id")) {
        for (Entry e : entries(ps)) {
          byId.put(e.id(), e);
          out.put(e, new ArrayList<>());
        }
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT id, message_id, recipient, domain, attempts,"
          + " next_attempt, last_error FROM queue_recipients ORDER BY message_id, id")) {
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

  private static void delete(Connection c, Removal r) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM queue_recipients WHERE id = ?")) {
      for (long id : r.rcptIds()) {
        ps.setLong(1, id);
        ps.addBatch();
      }
      ps.executeBatch();
    }
    deleteIfEmpty(c, r.messageId());
  }

  private static void deleteIfEmpty(Connection c, long messageId) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM queue_recipients WHERE message_id = ?")) {
      ps.setLong(1, messageId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (rs.getLong(1) > 0) {
          return;
        }
      }
    }
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM queue_messages WHERE id = ?")) {
      ps.setLong(1, messageId);
      ps.executeUpdate();
    }
  }

  @Override
  public void deferred(List<Long> rcptIds, Instant next, String error) {
    write(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET attempts = attempts + 1,"
          + " next_attempt = ?, last_error = ? WHERE id = ?")) {
        for (long id : rcptIds) {
          ps.setTimestamp(1, Timestamp.from(next));
          ps.setString(2, truncate(error, 1000));
          ps.setLong(3, id);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    });
  }

  @Override
  public void markWarned(long messageId) {
    write(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_messages SET warned = 1 WHERE id = ?")) {
        ps.setLong(1, messageId);
        ps.executeUpdate();
      }
      return null;
    });
  }

  @Override
  public int retryNow(List<Long> messageIds) {
    return write(c -> {
      if (messageIds.isEmpty()) {
        try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ?")) {
          ps.setTimestamp(1, Timestamp.from(Instant.now()));
          return ps.executeUpdate();
        }
      }
      int n = 0;
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ?"
          + " WHERE message_id = ?")) {
        for (long id : messageIds) {
          ps.setTimestamp(1, Timestamp.from(Instant.now()));
          ps.setLong(2, id);
          n += ps.executeUpdate();
        }
      }
      return n;
    });
  }

  @Override
  public int delete(List<Long> messageIds) {
    return write(c -> {
      int n = 0;
      try (PreparedStatement r = c.prepareStatement("DELETE FROM queue_recipients WHERE message_id = ?");
          PreparedStatement m = c.prepareStatement("DELETE FROM queue_messages WHERE id = ?")) {
        for (long id : messageIds) {
          r.setLong(1, id);
          r.executeUpdate();
          m.setLong(1, id);
          n += m.executeUpdate();
        }
      }
      return n;
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

  private static String truncate(String s, int max) {
    return s == null || s.length() <= max ? s : s.substring(0, max);
  }
}
