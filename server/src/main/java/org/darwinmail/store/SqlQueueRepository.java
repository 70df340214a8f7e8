package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.Lock;
import java.util.function.Function;

/**
 * The outbound queue's tables (migration V002: queue_messages, queue_recipients) on either engine; where they
 * differ is the runner's {@link SqlDialect}. What keeps concurrent writers apart: on Derby they take turns in this
 * process ({@link SqlDialect#writes}: its "last recipient?" check deadlocks, found only after a timeout); on
 * PostgreSQL, shared by every node (issue 20), a removal locks the message row first ({@code SELECT ... FOR UPDATE},
 * in ascending id order within a batch), so that two nodes removing the last two recipients of one message take
 * turns and the second one sees the first one's deletion and removes the message. Additions and removals finished
 * together share a commit ({@link GroupCommit}).
 *
 * <p>Leases (V010, {@link QueueRepository}): one mechanism on both engines. A claim reads the due rows (on PostgreSQL
 * with {@code FOR UPDATE SKIP LOCKED}: a concurrent claimer passes over them instead of waiting) and takes each with
 * an {@code UPDATE} conditional on the token it read and on the row being still due, so a row changed meanwhile
 * is not taken (on Derby, where there is no {@code SKIP LOCKED}, that condition is what would keep claimers apart;
 * its writers also take turns in-process). Every later write of a lease names its token, and its owner where a
 * lease ended by the owner's own failure record must not come back.
 */
public final class SqlQueueRepository implements QueueRepository {
  private static final String RCPT_COLUMNS = "id, message_id, recipient, domain, attempts, next_attempt, last_error,"
      + " lease_owner, lease_token";
  private static final String ENTRY_COLUMNS = "id, sender, blob, size, smtputf8, account, created_at, warned";
  private static final String DUE = "SELECT " + RCPT_COLUMNS + " FROM queue_recipients WHERE next_attempt <= ?"
      + " ORDER BY next_attempt, id FETCH FIRST %d ROWS ONLY";
  private final SqlRunner db;
  private final SqlDialect dialect;
  /** Derby's in-process write lock, or null (PostgreSQL). */
  private final Lock writes;
  /** Removals finished together share one transaction (one log force), under {@link #writes} like any write. */
  private final GroupCommit<Removal, Void> removals;
  /** Messages queued together share one transaction. */
  private final GroupCommit<Addition, List<Rcpt>> additions;
  private volatile BlobStore.Fence fence = BlobStore.Fence.NONE;

  private record Removal(long messageId, List<Long> rcptIds, List<TraceRepository.Event> trace) {}

  /** No delivery trace events. */
  private static final Function<Rcpt, TraceRepository.Event> UNTRACED = r -> null;

  /** @param lease the lease the recipients start under, or null (due now) */
  private record Addition(String sender, List<String> recipients, String blob, long size, boolean smtputf8,
      String account, Instant at, Lease lease, Function<Rcpt, TraceRepository.Event> traced) {}

  public SqlQueueRepository(SqlRunner db) {
    this.db = db;
    this.dialect = db.dialect();
    this.writes = dialect.writes();
    this.removals = new GroupCommit<>(db, 64, writes, (c, batch) -> {
      List<Removal> ordered = new ArrayList<>(batch);
      ordered.sort(Comparator.comparingLong(Removal::messageId)); // one lock order: no deadlock between batches
      for (Removal r : ordered) {
        delete(c, r);
      }
      return Collections.nCopies(batch.size(), null);
    });
    // Not under the write lock: inserting new rows takes no lock another transaction waits for in a cycle.
    this.additions = new GroupCommit<>(db, 64, (c, batch) -> {
      List<List<Rcpt>> out = new ArrayList<>();
      for (Addition a : batch) {
        out.add(insert(c, a));
      }
      return out;
    });
  }

  @Override
  public void fenceClaims(BlobStore.Fence fence) {
    this.fence = fence;
  }

  /** {@code work} in one transaction, taking its turn on Derby. */
  private <T> T write(Database.SqlWork<T> work) {
    if (writes == null) {
      return db.tx(work);
    }
    writes.lock();
    try {
      return db.tx(work);
    } finally {
      writes.unlock();
    }
  }

  @Override
  public List<Rcpt> add(String sender, List<String> recipients, String blob, long size, boolean smtputf8,
      String account) {
    return add(sender, recipients, blob, size, smtputf8, account, null, UNTRACED);
  }

  @Override
  public List<Rcpt> add(String sender, List<String> recipients, String blob, long size, boolean smtputf8,
      String account, Lease lease) {
    return add(sender, recipients, blob, size, smtputf8, account, lease, UNTRACED);
  }

  @Override
  public List<Rcpt> add(String sender, List<String> recipients, String blob, long size, boolean smtputf8,
      String account, Lease lease, Function<Rcpt, TraceRepository.Event> traced) {
    return additions.submit(new Addition(sender, List.copyOf(recipients), blob, size, smtputf8, account,
        Instant.now(), lease, traced));
  }

  private List<Rcpt> insert(Connection c, Addition a) throws SQLException {
    Instant now = a.at();
    long id;
    try (PreparedStatement ps = dialect.insertReturningId(c, "INSERT INTO queue_messages (sender, blob, size,"
        + " smtputf8, account, created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, a.sender());
      ps.setString(2, a.blob());
      ps.setLong(3, a.size());
      ps.setShort(4, (short) (a.smtputf8() ? 1 : 0));
      ps.setString(5, a.account());
      ps.setTimestamp(6, Timestamp.from(now));
      id = dialect.insertedId(ps);
    }
    List<Rcpt> rows = new ArrayList<>();
    Lease lease = a.lease();
    Instant due = lease == null ? now : lease.until();
    String owner = lease == null ? null : lease.owner();
    int token = lease == null ? 0 : 1;
    try (PreparedStatement ps = dialect.insertReturningId(c, "INSERT INTO queue_recipients (message_id, recipient,"
        + " domain, next_attempt, lease_owner, lease_token) VALUES (?, ?, ?, ?, ?, ?)")) {
      for (String r : a.recipients()) {
        String domain = domainOf(r);
        ps.setLong(1, id);
        ps.setString(2, r);
        ps.setString(3, domain);
        ps.setTimestamp(4, Timestamp.from(due));
        ps.setString(5, owner);
        ps.setInt(6, token);
        rows.add(new Rcpt(dialect.insertedId(ps), id, r, domain, 0, due, null, owner, token));
      }
    }
    traced(c, rows, a.traced());
    fence.check(c, List.of(a.blob())); // before the commit, in this transaction
    return rows;
  }

  /** Inserts the delivery trace's event of each row ({@code traced} may return null: none), in {@code c}'s transaction. */
  private static void traced(Connection c, List<Rcpt> rows, Function<Rcpt, TraceRepository.Event> traced)
      throws SQLException {
    List<TraceRepository.Event> events = new ArrayList<>();
    for (Rcpt r : rows) {
      TraceRepository.Event e = traced.apply(r);
      if (e != null) {
        events.add(e);
      }
    }
    if (!events.isEmpty()) {
      SqlTraceRepository.insert(c, events);
    }
  }

  private static String domainOf(String address) {
    String d = address.substring(address.lastIndexOf('@') + 1);
    String a = Addresses.domain(d);
    return a == null ? d.toLowerCase(java.util.Locale.ROOT) : a;
  }

  @Override
  public List<Rcpt> due(Instant now, int limit) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(DUE.formatted(limit))) {
        ps.setTimestamp(1, Timestamp.from(now));
        return rcpts(ps);
      }
    });
  }

  /**
   * The due rows are read locked with {@code FOR UPDATE SKIP LOCKED} on PostgreSQL, so a concurrent claimer passes
   * over the rows this one is taking instead of waiting for them; each is then taken only if it is still due with
   * the token read (the one condition both engines rely on; on Derby the claimers of this process also take turns).
   */
  @Override
  public List<Rcpt> claim(Instant now, int limit, Lease lease) {
    return write(c -> {
      List<Rcpt> due;
      try (PreparedStatement ps = c.prepareStatement(dialect.locking(DUE.formatted(limit), true))) {
        ps.setTimestamp(1, Timestamp.from(now));
        due = rcpts(ps);
      }
      if (due.isEmpty()) {
        return due;
      }
      int[] taken;
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ?, lease_owner = ?,"
          + " lease_token = lease_token + 1 WHERE id = ? AND lease_token = ? AND next_attempt <= ?")) {
        for (Rcpt r : due) {
          ps.setTimestamp(1, Timestamp.from(lease.until()));
          ps.setString(2, lease.owner());
          ps.setLong(3, r.id());
          ps.setInt(4, r.token());
          ps.setTimestamp(5, Timestamp.from(now));
          ps.addBatch();
        }
        taken = ps.executeBatch();
      }
      List<Rcpt> out = new ArrayList<>();
      for (int i = 0; i < due.size(); i++) {
        Rcpt r = due.get(i);
        if (taken[i] == 1) {
          out.add(new Rcpt(r.id(), r.messageId(), r.recipient(), r.domain(), r.attempts(), lease.until(),
              r.lastError(), lease.owner(), r.token() + 1));
        }
      }
      out.sort(Comparator.comparingLong(Rcpt::id));
      return out;
    });
  }

  @Override
  public List<Rcpt> renew(List<Rcpt> rows, Lease lease) {
    if (rows.isEmpty()) {
      return List.of();
    }
    String owner = lease.owner();
    return write(c -> fenced(c, byId(rows), "UPDATE queue_recipients SET next_attempt = ?"
        + " WHERE id = ? AND lease_token = ? AND lease_owner = ?", (ps, r) -> {
          ps.setTimestamp(1, Timestamp.from(lease.until()));
          ps.setLong(2, r.id());
          ps.setInt(3, r.token());
          ps.setString(4, owner);
        }).stream().map(r -> new Rcpt(r.id(), r.messageId(), r.recipient(), r.domain(), r.attempts(), lease.until(),
            r.lastError(), owner, r.token())).toList());
  }

  /** A row's values for one batched statement. */
  @FunctionalInterface
  private interface RowBinder {
    void bind(PreparedStatement ps, Rcpt r) throws SQLException;
  }

  /**
   * Runs {@code sql} once per row of {@code held} in one batch, each guarded by its lease (the statement's WHERE
   * names the token): the rows it changed, those whose lease still held.
   */
  private static List<Rcpt> fenced(Connection c, List<Rcpt> held, String sql, RowBinder binder)
      throws SQLException {
    int[] n;
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (Rcpt r : held) {
        binder.bind(ps, r);
        ps.addBatch();
      }
      n = ps.executeBatch();
    }
    List<Rcpt> out = new ArrayList<>();
    for (int i = 0; i < held.size(); i++) {
      if (n[i] == 1) {
        out.add(held.get(i));
      }
    }
    return out;
  }

  @Override
  public int release(List<Rcpt> held, String owner) {
    if (held.isEmpty()) {
      return 0;
    }
    return write(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ?,"
          + " lease_owner = NULL WHERE id = ? AND lease_token = ? AND lease_owner = ?")) {
        Timestamp now = Timestamp.from(Instant.now());
        for (Rcpt r : held) {
          ps.setTimestamp(1, now);
          ps.setLong(2, r.id());
          ps.setInt(3, r.token());
          ps.setString(4, owner);
          ps.addBatch();
        }
        return count(ps.executeBatch());
      }
    });
  }

  @Override
  public int releaseOrphanedLeases(Instant now) {
    // Not on a database that booted read-only (a start on a full disk): a change there makes Derby's pool reopen,
    // and reads fail until space returns. The leases then end by themselves.
    if (!dialect.oneProcess() || !db.writable()) {
      return 0;
    }
    return write(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ?,"
          + " lease_owner = NULL WHERE lease_owner IS NOT NULL AND next_attempt > ?")) {
        ps.setTimestamp(1, Timestamp.from(now));
        ps.setTimestamp(2, Timestamp.from(now));
        return ps.executeUpdate();
      }
    });
  }

  /**
   * In ascending id order: the order in which removals lock recipient rows (by message, then id; a message's
   * recipients are numbered after those of older messages), so two transactions of one node never wait on each other
   * in a cycle on PostgreSQL.
   */
  private static List<Rcpt> byId(List<Rcpt> rows) {
    List<Rcpt> l = new ArrayList<>(rows);
    l.sort(Comparator.comparingLong(Rcpt::id));
    return l;
  }

  /** The rows a batch changed (a driver may answer SUCCESS_NO_INFO, -2, for a row it changed). */
  private static int count(int[] batch) {
    int n = 0;
    for (int k : batch) {
      n += k == 1 || k == Statement.SUCCESS_NO_INFO ? 1 : 0;
    }
    return n;
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
            rs.getTimestamp(6).toInstant(), rs.getString(7), rs.getString(8), rs.getInt(9)));
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
    // One transaction, in one snapshot on PostgreSQL: both reads see the same queue while another node changes it.
    return db.tx(c -> {
      dialect.snapshot(c);
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
    remove(messageId, rcptIds, List.of());
  }

  @Override
  public void remove(long messageId, List<Long> rcptIds, List<TraceRepository.Event> trace) {
    if (!rcptIds.isEmpty()) {
      removals.submit(new Removal(messageId, List.copyOf(rcptIds), List.copyOf(trace)));
    }
  }

  /** Locks the message row, deletes the recipients, then the message when it has none left. */
  private void delete(Connection c, Removal r) throws SQLException {
    lockMessages(c, List.of(r.messageId()));
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM queue_recipients WHERE id = ?")) {
      for (long id : r.rcptIds()) {
        ps.setLong(1, id);
        ps.addBatch();
      }
      ps.executeBatch();
    }
    deleteIfEmpty(c, r.messageId());
    if (!r.trace().isEmpty()) {
      SqlTraceRepository.insert(c, r.trace());
    }
  }

  /** Deletes the message row when it has no recipient left (its row locked first by the caller). */
  private static void deleteIfEmpty(Connection c, long messageId) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM queue_messages WHERE id = ?"
        + " AND NOT EXISTS (SELECT 1 FROM queue_recipients WHERE message_id = ?)")) {
      ps.setLong(1, messageId);
      ps.setLong(2, messageId);
      ps.executeUpdate();
    }
  }

  /** Locks the message rows {@code ids} in ascending order (PostgreSQL; on Derby the writers take turns). */
  private void lockMessages(Connection c, List<Long> ids) throws SQLException {
    if (writes != null) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(dialect.locking("SELECT id FROM queue_messages WHERE id = ?",
        false))) {
      for (long id : ids.stream().sorted().toList()) {
        ps.setLong(1, id);
        ps.executeQuery().close();
      }
    }
  }

  @Override
  public void deferred(List<Long> rcptIds, Instant next, String error) {
    write(c -> {
      // The token goes up: an attempt in flight under a lease records no failure over this.
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET attempts = attempts + 1,"
          + " next_attempt = ?, last_error = ?, lease_owner = NULL, lease_token = lease_token + 1 WHERE id = ?")) {
        for (long id : rcptIds) {
          ps.setTimestamp(1, Timestamp.from(next));
          ps.setString(2, truncated(error));
          ps.setLong(3, id);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    });
  }

  private static String truncated(String error) {
    return error == null || error.length() <= 1000 ? error : error.substring(0, 1000);
  }

  @Override
  public List<Long> deferLeased(List<Rcpt> rows, Instant next, String error) {
    return deferLeased(rows, next, error, UNTRACED);
  }

  @Override
  public List<Long> deferLeased(List<Rcpt> rows, Instant next, String error,
      Function<Rcpt, TraceRepository.Event> traced) {
    if (rows.isEmpty()) {
      return List.of();
    }
    String why = truncated(error);
    return write(c -> {
      List<Rcpt> done = fenced(c, byId(rows), "UPDATE queue_recipients SET attempts = attempts + 1,"
          + " next_attempt = ?, last_error = ?, lease_owner = NULL WHERE id = ? AND lease_token = ?", (ps, r) -> {
            ps.setTimestamp(1, Timestamp.from(next));
            ps.setString(2, why);
            ps.setLong(3, r.id());
            ps.setInt(4, r.token());
          });
      traced(c, done, traced);
      return done.stream().map(Rcpt::id).toList();
    });
  }

  @Override
  public List<Long> removeLeased(long messageId, List<Rcpt> held) {
    return removeLeased(messageId, held, UNTRACED);
  }

  @Override
  public List<Long> removeLeased(long messageId, List<Rcpt> held, Function<Rcpt, TraceRepository.Event> traced) {
    if (held.isEmpty()) {
      return List.of();
    }
    return write(c -> {
      lockMessages(c, List.of(messageId));
      List<Long> out = new ArrayList<>();
      List<Rcpt> gone = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM queue_recipients WHERE id = ? AND lease_token = ?")) {
        for (Rcpt r : held) {
          ps.setLong(1, r.id());
          ps.setInt(2, r.token());
          if (ps.executeUpdate() == 1) {
            out.add(r.id());
            gone.add(r);
          }
        }
      }
      deleteIfEmpty(c, messageId);
      traced(c, gone, traced);
      return out;
    });
  }

  @Override
  public void markWarned(long messageId) {
    write(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_messages SET warned = 1 WHERE id = ?")) {
        ps.setLong(1, messageId);
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public int retryNow(List<Long> messageIds) {
    return write(c -> {
      Timestamp now = Timestamp.from(Instant.now());
      // A running lease stays its holder's: made due, its recipient would be claimed again while in flight.
      String notLeased = " (lease_owner IS NULL OR next_attempt <= ?)";
      if (messageIds.isEmpty()) {
        try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ?, lease_owner = NULL"
            + " WHERE" + notLeased)) {
          ps.setTimestamp(1, now);
          ps.setTimestamp(2, now);
          return ps.executeUpdate();
        }
      }
      int n = 0;
      try (PreparedStatement ps = c.prepareStatement("UPDATE queue_recipients SET next_attempt = ?, lease_owner = NULL"
          + " WHERE message_id = ? AND" + notLeased)) {
        for (long id : messageIds) {
          ps.setTimestamp(1, now);
          ps.setLong(2, id);
          ps.setTimestamp(3, now);
          n += ps.executeUpdate();
        }
      }
      return n;
    });
  }

  @Override
  public int delete(List<Long> messageIds) {
    return write(c -> {
      // The message rows first, in id order, as a removal takes them: no lock cycle with a delivery finishing.
      lockMessages(c, messageIds);
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
  public java.util.Set<String> blobsReferenced(String prefix) {
    return db.read(c -> BlobPrefix.read(c, "queue_messages", "blob", prefix));
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
