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
import java.util.Optional;

/**
 * The directory's tables (domains, accounts, aliases) in SQL that Derby and PostgreSQL both run as it is, so one
 * class serves both engines ({@code DirectoryRepositoryContract} runs it on each). An insert that loses a race
 * with another node or session for the same name (a unique violation, SQLSTATE 23505 on both) is refused like a
 * name found to exist.
 */
public final class SqlDirectoryRepository implements DirectoryRepository {
  private static final String ACCOUNT_COLUMNS = "id, address, password_hash, quota_bytes, user_quota_bytes";
  private final SqlRunner db;

  public SqlDirectoryRepository(SqlRunner db) {
    this.db = db;
  }

  @Override
  public boolean shared() {
    return db.shared();
  }

  @Override
  public void addDomain(String d) {
    db.tx(c -> {
      if (exists(c, "SELECT 1 FROM domains WHERE name = ?", d)) {
        throw new RefusedException("domain exists: " + d);
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO domains (name, created_at) VALUES (?, ?)")) {
        ps.setString(1, d);
        ps.setTimestamp(2, Timestamp.from(Instant.now()));
        insert(ps, "domain exists: " + d);
      }
      changed(c);
      return null;
    });
  }

  @Override
  public void removeDomain(String d) {
    db.tx(c -> {
      if (!exists(c, "SELECT 1 FROM domains WHERE name = ?", d)) {
        throw new RefusedException("no such domain: " + d);
      }
      if (exists(c, "SELECT 1 FROM accounts a JOIN domains d ON a.domain_id = d.id WHERE d.name = ?", d)) {
        throw new RefusedException("domain " + d + " still has accounts: remove them first");
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM aliases WHERE source LIKE ?")) {
        ps.setString(1, "%@" + d);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM domains WHERE name = ?")) {
        ps.setString(1, d);
        ps.executeUpdate();
      }
      changed(c);
      return null;
    });
  }

  @Override
  public List<String> domains() {
    return db.read(c -> strings(c, "SELECT name FROM domains ORDER BY name"));
  }

  @Override
  public boolean domainExists(String d) {
    return db.read(c -> exists(c, "SELECT 1 FROM domains WHERE name = ?", d));
  }

  @Override
  public Account addAccount(String a, String hash, List<String[]> folders) {
    return db.tx(c -> {
      long domainId = domainId(c, Addresses.domainOf(a));
      if (exists(c, "SELECT 1 FROM accounts WHERE address = ?", a)) {
        throw new RefusedException("account exists: " + a);
      }
      if (exists(c, "SELECT 1 FROM aliases WHERE source = ?", a)) {
        throw new RefusedException(a + " is an alias: remove the alias first");
      }
      long id;
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO accounts (domain_id, address, password_hash,"
          + " quota_bytes, created_at) VALUES (?, ?, ?, 0, ?)", Statement.RETURN_GENERATED_KEYS)) {
        ps.setLong(1, domainId);
        ps.setString(2, a);
        ps.setString(3, hash);
        ps.setTimestamp(4, Timestamp.from(Instant.now()));
        insert(ps, "account exists: " + a);
        try (ResultSet rs = ps.getGeneratedKeys()) {
          rs.next();
          id = rs.getLong(1); // the first column: PostgreSQL's driver returns every column of the row
        }
      }
      for (String[] f : folders) {
        SqlMessageRepository.createMailbox(c, id, f[0], f[1]);
      }
      changed(c);
      return new Account(id, a, hash, 0);
    });
  }

  @Override
  public Optional<Account> account(String address) {
    return db.read(c -> accountWhere(c, "address = ?", address));
  }

  @Override
  public Optional<Account> account(long id) {
    return db.read(c -> accountWhere(c, "id = ?", id));
  }

  private static Optional<Account> accountWhere(Connection c, String where, Object arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT " + ACCOUNT_COLUMNS + " FROM accounts WHERE " + where)) {
      ps.setObject(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new Account(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5)))
            : Optional.empty();
      }
    }
  }

  @Override
  public List<Account> accounts() {
    return db.read(c -> {
      List<Account> out = new ArrayList<>();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT " + ACCOUNT_COLUMNS + " FROM accounts ORDER BY address")) {
        while (rs.next()) {
          out.add(new Account(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5)));
        }
      }
      return out;
    });
  }

  @Override
  public Optional<String> firstAccount() {
    return db.read(c -> strings(c, "SELECT address FROM accounts ORDER BY id FETCH FIRST 1 ROWS ONLY"))
        .stream().findFirst();
  }

  @Override
  public void removeAccount(String a) {
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM accounts WHERE address = ?")) {
        ps.setString(1, a);
        if (ps.executeUpdate() == 0) {
          throw new RefusedException("no such account: " + a);
        }
      }
      changed(c);
      return null;
    });
  }

  @Override
  public boolean setPassword(String a, String hash) {
    return update("UPDATE accounts SET password_hash = ? WHERE address = ?", hash, a);
  }

  @Override
  public boolean setQuota(String a, long bytes) {
    return update("UPDATE accounts SET quota_bytes = ? WHERE address = ?", bytes, a);
  }

  @Override
  public boolean setUserQuota(long accountId, long bytes) {
    // one statement: an administrator's change between a read and this write cannot let the user's limit pass it
    return db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE accounts SET user_quota_bytes = ? WHERE id = ?"
          + " AND (quota_bytes = 0 OR quota_bytes >= ?)")) {
        ps.setLong(1, bytes);
        ps.setLong(2, accountId);
        ps.setLong(3, bytes);
        if (ps.executeUpdate() == 0) {
          return false;
        }
      }
      changed(c);
      return true;
    });
  }

  private boolean update(String sql, Object v, String a) {
    return db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setObject(1, v);
        ps.setString(2, a);
        if (ps.executeUpdate() == 0) {
          return false;
        }
      }
      changed(c);
      return true;
    });
  }

  @Override
  public void addAlias(String s, List<String> targets) {
    db.tx(c -> {
      domainId(c, Addresses.domainOf(s.startsWith("@") ? "x" + s : s));
      if (exists(c, "SELECT 1 FROM accounts WHERE address = ?", s)) {
        throw new RefusedException(s + " is an account: an alias cannot shadow it");
      }
      for (String t : targets) {
        if (exists2(c, "SELECT 1 FROM aliases WHERE source = ? AND target = ?", s, t)) {
          continue;
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO aliases (source, target) VALUES (?, ?)")) {
          ps.setString(1, s);
          ps.setString(2, t);
          insert(ps, "alias " + s + " is being changed by another session: try again");
        }
      }
      changed(c);
      return null;
    });
  }

  @Override
  public int removeAlias(String s, List<String> targets) {
    return db.tx(c -> {
      int n = 0;
      if (targets.isEmpty()) {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM aliases WHERE source = ?")) {
          ps.setString(1, s);
          n = ps.executeUpdate();
        }
      } else {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM aliases WHERE source = ? AND target = ?")) {
          for (String t : targets) {
            ps.setString(1, s);
            ps.setString(2, t);
            n += ps.executeUpdate();
          }
        }
      }
      if (n > 0) {
        changed(c);
      }
      return n;
    });
  }

  @Override
  public Map<String, List<String>> aliases() {
    return db.read(c -> {
      Map<String, List<String>> out = new LinkedHashMap<>();
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT source, target FROM aliases ORDER BY source, target")) {
        while (rs.next()) {
          out.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(rs.getString(2));
        }
      }
      return out;
    });
  }

  @Override
  public List<String> targets(String source) {
    return db.read(c -> column(c, "SELECT target FROM aliases WHERE source = ? ORDER BY target", source));
  }

  @Override
  public List<String> sourcesOf(String target) {
    return db.read(c -> column(c, "SELECT source FROM aliases WHERE target = ? ORDER BY source", target));
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  /**
   * Tells the other nodes, at this transaction's commit, that the directory changed: they empty their caches
   * ({@link Directory#listen}); this node's {@link Directory} empties its own after the call returns.
   */
  private void changed(Connection c) throws SQLException {
    ClusterEvents.send(db, c, ClusterEvents.Topic.DIRECTORY, (String) null);
  }

  /** Runs an INSERT; a unique violation (another session inserted the same name first) is refused. */
  private static void insert(PreparedStatement ps, String refusal) throws SQLException {
    try {
      ps.executeUpdate();
    } catch (SQLException e) {
      if ("23505".equals(e.getSQLState())) {
        throw new RefusedException(refusal);
      }
      throw e;
    }
  }

  private static long domainId(Connection c, String domain) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT id FROM domains WHERE name = ?")) {
      ps.setString(1, domain);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new RefusedException("no such domain: " + domain + " (add it first with: domain add " + domain + ")");
        }
        return rs.getLong(1);
      }
    }
  }

  private static boolean exists(Connection c, String sql, String arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static boolean exists2(Connection c, String sql, String a, String b) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, a);
      ps.setString(2, b);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static List<String> column(Connection c, String sql, String arg) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return List.copyOf(out);
  }

  private static List<String> strings(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
