package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The delivery trace's table (V013, {@code trace_events}) on either engine: portable SQL only. A search reads one
 * index (queue id, recipient or Message-ID; for a Message-ID also the queue entries found under it, at most {@link
 * #MAX_ENTRIES}) and pages newest first with {@code OFFSET ... FETCH}.
 */
public final class SqlTraceRepository implements TraceRepository {
  /** Queue entries a Message-ID search follows, at most (a Message-ID is one message; resent, a few). */
  static final int MAX_ENTRIES = 50;
  private static final String COLUMNS = "event_at, kind, queue_id, message_id, sender, recipient, client_address,"
      + " size, remote_host, detail, id";
  private final SqlRunner db;

  public SqlTraceRepository(SqlRunner db) {
    this.db = db;
  }

  @Override
  public void add(List<Event> events) {
    if (!events.isEmpty()) {
      db.tx(c -> {
        insert(c, events);
        return null;
      });
    }
  }

  /** Inserts the events on {@code c}, in the caller's transaction. */
  static void insert(Connection c, List<Event> events) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO trace_events (event_at, kind, queue_id, message_id,"
        + " message_key, sender, recipient, recipient_key, client_address, size, remote_host, detail)"
        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      for (Event e : events) {
        String mid = cut(e.messageId(), 300);
        String rcpt = cut(e.recipient(), 320);
        ps.setTimestamp(1, Timestamp.from(e.at()));
        ps.setString(2, cut(e.kind(), 20));
        if (e.queueId() > 0) {
          ps.setLong(3, e.queueId());
        } else {
          ps.setNull(3, java.sql.Types.BIGINT);
        }
        ps.setString(4, mid);
        ps.setString(5, cut(TraceRepository.messageKey(mid), 300));
        ps.setString(6, cut(e.sender(), 320));
        ps.setString(7, rcpt);
        ps.setString(8, rcpt.toLowerCase(Locale.ROOT));
        ps.setString(9, cut(e.client(), 64));
        ps.setLong(10, e.size());
        ps.setString(11, cut(e.remote(), MAX_TEXT));
        ps.setString(12, cut(e.detail(), 1000));
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  private static String cut(String s, int max) {
    if (s == null) {
      return "";
    }
    return s.length() > max ? s.substring(0, max - 1) + "…" : s;
  }

  @Override
  public Page search(String query, int offset, int limit) {
    String q = query.strip();
    return db.read(c -> {
      String where;
      List<Object> args = new ArrayList<>();
      if (!q.isEmpty() && q.chars().allMatch(Character::isDigit) && q.length() < 19) {
        where = "queue_id = ?";
        args.add(Long.parseLong(q));
      } else {
        String key = TraceRepository.messageKey(q);
        List<Long> entries = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT DISTINCT queue_id FROM trace_events WHERE"
            + " message_key = ? AND queue_id IS NOT NULL FETCH FIRST " + MAX_ENTRIES + " ROWS ONLY")) {
          ps.setString(1, key);
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              entries.add(rs.getLong(1));
            }
          }
        }
        // one index per branch; UNION drops the rows two branches share (the id is among the columns)
        StringBuilder w = new StringBuilder("SELECT " + COLUMNS + " FROM trace_events WHERE message_key = ?"
            + " UNION SELECT " + COLUMNS + " FROM trace_events WHERE recipient_key = ?");
        args.add(key);
        args.add(q.toLowerCase(Locale.ROOT));
        if (!entries.isEmpty()) {
          w.append(" UNION SELECT " + COLUMNS + " FROM trace_events WHERE queue_id IN (")
              .append("?, ".repeat(entries.size() - 1)).append("?)");
          args.addAll(entries);
        }
        return page(c, "SELECT * FROM (" + w + ") t", args, offset, limit);
      }
      return page(c, "SELECT " + COLUMNS + " FROM trace_events WHERE " + where, args, offset, limit);
    });
  }

  private static Page page(Connection c, String select, List<Object> args, int offset, int limit)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(select + " ORDER BY event_at DESC, id DESC OFFSET "
        + Math.max(0, offset) + " ROWS FETCH NEXT " + (limit + 1) + " ROWS ONLY")) {
      for (int i = 0; i < args.size(); i++) {
        if (args.get(i) instanceof Long l) {
          ps.setLong(i + 1, l);
        } else {
          ps.setString(i + 1, (String) args.get(i));
        }
      }
      List<Event> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new Event(rs.getTimestamp(1).toInstant(), rs.getString(2), rs.getLong(3), rs.getString(4),
              rs.getString(5), rs.getString(6), rs.getString(7), rs.getLong(8), rs.getString(9),
              rs.getString(10)));
        }
      }
      boolean more = out.size() > limit;
      return new Page(more ? out.subList(0, limit) : out, more);
    }
  }

  @Override
  public int prune(Instant before, long maxRows) {
    return db.tx(c -> {
      int gone;
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM trace_events WHERE event_at < ?")) {
        ps.setTimestamp(1, Timestamp.from(before));
        gone = ps.executeUpdate();
      }
      // the newest maxRows stay: the id of the first one beyond them, and every older one, go
      long last = -1;
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM trace_events ORDER BY id DESC OFFSET "
          + maxRows + " ROWS FETCH NEXT 1 ROWS ONLY"); ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          last = rs.getLong(1);
        }
      }
      if (last >= 0) {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM trace_events WHERE id <= ?")) {
          ps.setLong(1, last);
          gone += ps.executeUpdate();
        }
      }
      return gone;
    });
  }
}
