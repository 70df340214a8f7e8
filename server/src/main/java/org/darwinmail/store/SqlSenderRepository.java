package org.darwinmail.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The abuse guard's tables (sender_blocks, sender_recipients, sender_counts, sender_rates) on either engine. A recipient already known, because
 * another session or node recorded it first, is skipped ({@link SqlDialect#skippingDuplicates}).
 */
public final class SqlSenderRepository implements SenderRepository {
  /** The longest recipient column (an address is at most 320 octets, RFC 5321 §4.5.3.1). */
  private static final int RECIPIENT_MAX = 320;
  private final SqlRunner db;

  public SqlSenderRepository(SqlRunner db) {
    this.db = db;
  }

  @Override
  public List<Block> blocks() {
    return db.read(c -> {
      List<Block> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT account, blocked_at, reason, messages, recipients, window_seconds FROM sender_blocks");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new Block(rs.getString(1), rs.getTimestamp(2).toInstant(), rs.getString(3), rs.getInt(4),
              rs.getInt(5), rs.getInt(6)));
        }
      }
      return out;
    });
  }

  @Override
  public void addBlock(Block b) {
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO sender_blocks VALUES (?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, b.account());
        ps.setTimestamp(2, Timestamp.from(b.since()));
        ps.setString(3, b.reason());
        ps.setInt(4, b.messages());
        ps.setInt(5, b.recipients());
        ps.setInt(6, b.windowSeconds());
        ps.executeUpdate();
      }
      ClusterEvents.send(db, c, ClusterEvents.Topic.SENDER, b.account()); // other nodes' guards read it at commit
      return null;
    });
  }

  @Override
  public boolean removeBlock(String account) {
    return db.tx(c -> {
      int n;
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM sender_blocks WHERE account = ?")) {
        ps.setString(1, account);
        n = ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM sender_counts WHERE account = ?")) {
        ps.setString(1, account); // the burst that caused the block is forgiven on every node
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM sender_rates WHERE account = ?")) {
        ps.setString(1, account); // and the limits start afresh, as the unblocking node's memory does
        ps.executeUpdate();
      }
      if (n > 0) {
        ClusterEvents.send(db, c, ClusterEvents.Topic.SENDER, account);
      }
      return n;
    }) > 0;
  }

  @Override
  public Counts count(String account, long bucket, int messages, int recipients, long since) {
    boolean pg = db.dialect() == SqlDialect.POSTGRESQL;
    return db.tx(c -> {
      // The bucket's row first: its lock orders concurrent counts of the account, so the sum below sees theirs.
      if (pg) {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO sender_counts VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (account, bucket) DO UPDATE SET messages = sender_counts.messages + EXCLUDED.messages,"
            + " recipients = sender_counts.recipients + EXCLUDED.recipients")) {
          bind(ps, account, bucket, messages, recipients);
          ps.executeUpdate();
        }
      } else if (add(c, account, bucket, messages, recipients) == 0) {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO sender_counts VALUES (?, ?, ?, ?)")) {
          bind(ps, account, bucket, messages, recipients);
          ps.executeUpdate();
        } catch (SQLException e) {
          if (!SqlDialect.duplicate(e)) {
            throw e;
          }
          add(c, account, bucket, messages, recipients); // another session inserted the row first (Derby goes on)
        }
      }
      try (PreparedStatement ps = c.prepareStatement(
          "DELETE FROM sender_counts WHERE account = ? AND bucket <= ?")) {
        ps.setString(1, account);
        ps.setLong(2, since);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT SUM(messages), SUM(recipients) FROM sender_counts"
          + " WHERE account = ? AND bucket > ?")) {
        ps.setString(1, account);
        ps.setLong(2, since);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return new Counts(rs.getLong(1), rs.getLong(2));
        }
      }
    });
  }

  @Override
  public List<Tally> rates(String account, long now, int[] windowSeconds, Tally adding,
      Predicate<List<Tally>> allow) {
    return db.tx(c -> {
      // The account's row of span 0 first, a lock only: every count of the account, on any node, takes turns on it,
      // so the sums below include every committed addition and none is made meanwhile (the buckets of two nodes'
      // clocks may differ: their rows alone would not order the counts).
      addRate(c, account, 0, 0, Tally.ZERO);
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM sender_rates WHERE account = ? AND span > 0"
          + " AND bucket <= CAST(? AS BIGINT) - CAST(span AS BIGINT) * 1000")) {
        ps.setString(1, account);
        ps.setLong(2, now);
        ps.executeUpdate();
      }
      java.util.Map<Integer, Tally> bySpan = new java.util.HashMap<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT span, SUM(messages), SUM(recipients), SUM(fresh)"
          + " FROM sender_rates WHERE account = ? AND span > 0 AND bucket > CAST(? AS BIGINT)"
          + " - CAST(span AS BIGINT) * 1000 GROUP BY span")) { // a bucket ahead of now: a node whose clock is ahead
        ps.setString(1, account);
        ps.setLong(2, now);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            bySpan.put(rs.getInt(1), new Tally(rs.getLong(2), rs.getLong(3), rs.getLong(4)));
          }
        }
      }
      List<Tally> sums = new ArrayList<>();
      for (int w : windowSeconds) {
        sums.add(bySpan.getOrDefault(w, Tally.ZERO));
      }
      if (allow.test(sums)) {
        for (int w : windowSeconds) {
          long bucketMillis = Math.max(1, w * 1000L / 60);
          addRate(c, account, w, now - Math.floorMod(now, bucketMillis), adding);
        }
      }
      return sums;
    });
  }

  /** Adds to one row of sender_rates, made when missing (an upsert on either engine). */
  private void addRate(java.sql.Connection c, String account, int span, long bucket, Tally t) throws SQLException {
    String insert = "INSERT INTO sender_rates VALUES (?, ?, ?, ?, ?, ?)";
    if (db.dialect() == SqlDialect.POSTGRESQL) {
      try (PreparedStatement ps = c.prepareStatement(insert + " ON CONFLICT (account, span, bucket) DO UPDATE SET"
          + " messages = sender_rates.messages + EXCLUDED.messages,"
          + " recipients = sender_rates.recipients + EXCLUDED.recipients, fresh = sender_rates.fresh + EXCLUDED.fresh")) {
        bindRate(ps, account, span, bucket, t);
        ps.executeUpdate();
      }
      return;
    }
    if (updateRate(c, account, span, bucket, t) > 0) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(insert)) {
      bindRate(ps, account, span, bucket, t);
      ps.executeUpdate();
    } catch (SQLException e) {
      if (!SqlDialect.duplicate(e)) {
        throw e;
      }
      updateRate(c, account, span, bucket, t); // another session inserted the row first (Derby goes on)
    }
  }

  private static int updateRate(java.sql.Connection c, String account, int span, long bucket, Tally t)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("UPDATE sender_rates SET messages = messages + ?,"
        + " recipients = recipients + ?, fresh = fresh + ? WHERE account = ? AND span = ? AND bucket = ?")) {
      ps.setLong(1, t.messages());
      ps.setLong(2, t.recipients());
      ps.setLong(3, t.fresh());
      ps.setString(4, account);
      ps.setInt(5, span);
      ps.setLong(6, bucket);
      return ps.executeUpdate();
    }
  }

  private static void bindRate(PreparedStatement ps, String account, int span, long bucket, Tally t)
      throws SQLException {
    ps.setString(1, account);
    ps.setInt(2, span);
    ps.setLong(3, bucket);
    ps.setLong(4, t.messages());
    ps.setLong(5, t.recipients());
    ps.setLong(6, t.fresh());
  }

  /** Derby's half of the upsert: adds to an existing row; how many rows it changed. */
  private static int add(java.sql.Connection c, String account, long bucket, int messages, int recipients)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("UPDATE sender_counts SET messages = messages + ?,"
        + " recipients = recipients + ? WHERE account = ? AND bucket = ?")) {
      ps.setInt(1, messages);
      ps.setInt(2, recipients);
      ps.setString(3, account);
      ps.setLong(4, bucket);
      return ps.executeUpdate();
    }
  }

  private static void bind(PreparedStatement ps, String account, long bucket, int messages, int recipients)
      throws SQLException {
    ps.setString(1, account);
    ps.setLong(2, bucket);
    ps.setInt(3, messages);
    ps.setInt(4, recipients);
  }

  @Override
  public Set<String> knownRecipients(String account) {
    return db.read(c -> {
      Set<String> s = ConcurrentHashMap.newKeySet();
      try (PreparedStatement ps = c.prepareStatement("SELECT recipient FROM sender_recipients WHERE account = ?")) {
        ps.setString(1, account);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            s.add(rs.getString(1));
          }
        }
      }
      return s;
    });
  }

  @Override
  public void rememberRecipients(String account, Collection<String> recipients, Instant at) {
    if (recipients.isEmpty()) {
      return;
    }
    Timestamp now = Timestamp.from(at);
    SqlDialect dialect = db.dialect();
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement(dialect.skippingDuplicates(
          "INSERT INTO sender_recipients VALUES (?, ?, ?)"))) {
        for (String r : recipients) {
          ps.setString(1, account);
          ps.setString(2, r.length() > RECIPIENT_MAX ? r.substring(0, RECIPIENT_MAX) : r);
          ps.setTimestamp(3, now);
          try {
            ps.executeUpdate();
          } catch (SQLException e) {
            if (!SqlDialect.duplicate(e)) { // Derby: already known, another session was first
              throw e;
            }
          }
        }
      }
      return null;
    });
  }
}
