package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * {@link MtaStsRepository} on either engine (V016): portable SQL but for the upserts ({@code ON CONFLICT} on
 * PostgreSQL, whose transaction a duplicate key would abort; update-then-insert on Derby).
 */
public final class SqlMtaStsRepository implements MtaStsRepository {
  /** The mx column's width: patterns beyond it are not stored (a policy that long is refused before, in delivery). */
  static final int MX_WIDTH = 16_000;
  private final SqlRunner db;

  public SqlMtaStsRepository(SqlRunner db) {
    this.db = db;
  }

  @Override
  public Optional<Stored> policy(String domain) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT domain, policy_id, mode, mx, max_age, fetched_at,"
          + " expires_at FROM mta_sts_policies WHERE domain = ?")) {
        ps.setString(1, domain);
        try (ResultSet r = ps.executeQuery()) {
          return r.next() ? Optional.of(row(r)) : Optional.<Stored>empty();
        }
      }
    });
  }

  private static Stored row(ResultSet r) throws SQLException {
    String mx = r.getString(4);
    return new Stored(r.getString(1), r.getString(2), r.getString(3),
        mx.isEmpty() ? List.of() : Arrays.asList(mx.split("\n")), r.getLong(5), r.getTimestamp(6).toInstant(),
        r.getTimestamp(7).toInstant());
  }

  @Override
  public void save(Stored p) {
    String mx = String.join("\n", p.mx());
    if (mx.length() > MX_WIDTH) {
      throw new IllegalArgumentException("mx patterns longer than " + MX_WIDTH + " characters");
    }
    db.tx(c -> {
      if (db.dialect() == SqlDialect.POSTGRESQL) {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO mta_sts_policies (policy_id, mode, mx, max_age,"
            + " fetched_at, expires_at, domain) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (domain) DO UPDATE SET"
            + " policy_id = EXCLUDED.policy_id, mode = EXCLUDED.mode, mx = EXCLUDED.mx, max_age = EXCLUDED.max_age,"
            + " fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at")) {
          bind(ps, p, mx, 1);
          ps.setString(7, p.domain());
          ps.executeUpdate();
        }
        return null;
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE mta_sts_policies SET policy_id = ?, mode = ?, mx = ?,"
          + " max_age = ?, fetched_at = ?, expires_at = ? WHERE domain = ?")) {
        bind(ps, p, mx, 1);
        ps.setString(7, p.domain());
        if (ps.executeUpdate() > 0) {
          return null;
        }
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO mta_sts_policies (policy_id, mode, mx, max_age,"
          + " fetched_at, expires_at, domain) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
        bind(ps, p, mx, 1);
        ps.setString(7, p.domain());
        ps.executeUpdate();
      } catch (SQLException e) {
        if (!SqlDialect.duplicate(e)) {
          throw e;
        }
        // another thread stored the domain's policy first: the later fetch wins on the next save
      }
      return null;
    });
  }

  private static void bind(PreparedStatement ps, Stored p, String mx, int from) throws SQLException {
    ps.setString(from, p.id());
    ps.setString(from + 1, p.mode());
    ps.setString(from + 2, mx);
    ps.setLong(from + 3, p.maxAge());
    ps.setTimestamp(from + 4, Timestamp.from(p.fetched()));
    ps.setTimestamp(from + 5, Timestamp.from(p.expires()));
  }

  @Override
  public void delete(String domain) {
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM mta_sts_policies WHERE domain = ?")) {
        ps.setString(1, domain);
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public List<Stored> policies() {
    return db.read(c -> {
      List<Stored> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT domain, policy_id, mode, mx, max_age, fetched_at,"
          + " expires_at FROM mta_sts_policies ORDER BY domain"); ResultSet r = ps.executeQuery()) {
        while (r.next()) {
          out.add(row(r));
        }
      }
      return out;
    });
  }

  @Override
  public void count(LocalDate day, String domain, String result, long n) {
    db.tx(c -> {
      if (db.dialect() == SqlDialect.POSTGRESQL) {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tls_rpt_counts (day, domain, result, sessions)"
            + " VALUES (?, ?, ?, ?) ON CONFLICT (day, domain, result) DO UPDATE SET"
            + " sessions = tls_rpt_counts.sessions + EXCLUDED.sessions")) {
          ps.setString(1, day.toString());
          ps.setString(2, domain);
          ps.setString(3, result);
          ps.setLong(4, n);
          ps.executeUpdate();
        }
        return null;
      }
      if (add(c, day, domain, result, n) > 0) {
        return null;
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO tls_rpt_counts (day, domain, result, sessions)"
          + " VALUES (?, ?, ?, ?)")) {
        ps.setString(1, day.toString());
        ps.setString(2, domain);
        ps.setString(3, result);
        ps.setLong(4, n);
        ps.executeUpdate();
      } catch (SQLException e) {
        if (!SqlDialect.duplicate(e)) {
          throw e;
        }
        add(c, day, domain, result, n); // another session made the row first
      }
      return null;
    });
  }

  private static int add(Connection c, LocalDate day, String domain, String result, long n) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("UPDATE tls_rpt_counts SET sessions = sessions + ?"
        + " WHERE day = ? AND domain = ? AND result = ?")) {
      ps.setLong(1, n);
      ps.setString(2, day.toString());
      ps.setString(3, domain);
      ps.setString(4, result);
      return ps.executeUpdate();
    }
  }

  @Override
  public List<Count> counts(LocalDate since) {
    return db.read(c -> {
      List<Count> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT day, domain, result, sessions FROM tls_rpt_counts"
          + " WHERE day >= ? ORDER BY day, domain, result FETCH FIRST 10000 ROWS ONLY")) {
        ps.setString(1, since.toString());
        try (ResultSet r = ps.executeQuery()) {
          while (r.next()) {
            out.add(new Count(LocalDate.parse(r.getString(1)), r.getString(2), r.getString(3), r.getLong(4)));
          }
        }
      }
      return out;
    });
  }

  @Override
  public void countDetail(LocalDate day, String domain, String result, String mxHost, String receivingIp, long n) {
    String mx = cut(mxHost, 255);
    String ip = cut(receivingIp, 45);
    db.tx(c -> {
      if (db.dialect() == SqlDialect.POSTGRESQL) {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO tls_rpt_details (day, domain, result, mx_host,"
            + " receiving_ip, sessions) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day, domain, result, mx_host,"
            + " receiving_ip) DO UPDATE SET sessions = tls_rpt_details.sessions + EXCLUDED.sessions")) {
          bindDetail(ps, day, domain, result, mx, ip, n);
          ps.executeUpdate();
        }
        return null;
      }
      if (addDetail(c, day, domain, result, mx, ip, n) > 0) {
        return null;
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO tls_rpt_details (day, domain, result, mx_host,"
          + " receiving_ip, sessions) VALUES (?, ?, ?, ?, ?, ?)")) {
        bindDetail(ps, day, domain, result, mx, ip, n);
        ps.executeUpdate();
      } catch (SQLException e) {
        if (!SqlDialect.duplicate(e)) {
          throw e;
        }
        addDetail(c, day, domain, result, mx, ip, n); // another session made the row first
      }
      return null;
    });
  }

  private static String cut(String s, int n) {
    String v = s == null ? "" : s;
    return v.length() > n ? v.substring(0, n) : v;
  }

  private static void bindDetail(PreparedStatement ps, LocalDate day, String domain, String result, String mx,
      String ip, long n) throws SQLException {
    ps.setString(1, day.toString());
    ps.setString(2, domain);
    ps.setString(3, result);
    ps.setString(4, mx);
    ps.setString(5, ip);
    ps.setLong(6, n);
  }

  private static int addDetail(Connection c, LocalDate day, String domain, String result, String mx, String ip,
      long n) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("UPDATE tls_rpt_details SET sessions = sessions + ?"
        + " WHERE day = ? AND domain = ? AND result = ? AND mx_host = ? AND receiving_ip = ?")) {
      ps.setLong(1, n);
      ps.setString(2, day.toString());
      ps.setString(3, domain);
      ps.setString(4, result);
      ps.setString(5, mx);
      ps.setString(6, ip);
      return ps.executeUpdate();
    }
  }

  @Override
  public List<Detail> details(LocalDate day, String domain, int limit) {
    return db.read(c -> {
      List<Detail> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT result, mx_host, receiving_ip, sessions FROM"
          + " tls_rpt_details WHERE day = ? AND domain = ? ORDER BY sessions DESC, result, mx_host, receiving_ip"
          + " FETCH FIRST " + Math.max(1, Math.min(limit, 10_000)) + " ROWS ONLY")) {
        ps.setString(1, day.toString());
        ps.setString(2, domain);
        try (ResultSet r = ps.executeQuery()) {
          while (r.next()) {
            out.add(new Detail(day, domain, r.getString(1), r.getString(2), r.getString(3), r.getLong(4)));
          }
        }
      }
      return out;
    });
  }

  @Override
  public boolean claimReport(LocalDate day, String domain, String reportId, Instant at, String node) {
    return db.tx(c -> {
      String sql = "INSERT INTO tls_rpt_reports (day, domain, report_id, claimed_at, node, destinations, result)"
          + " VALUES (?, ?, ?, ?, ?, '', '')";
      if (db.dialect() == SqlDialect.POSTGRESQL) {
        sql += " ON CONFLICT (day, domain) DO NOTHING"; // a duplicate key would abort PostgreSQL's transaction
      }
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setString(1, day.toString());
        ps.setString(2, domain);
        ps.setString(3, cut(reportId, 200));
        ps.setTimestamp(4, Timestamp.from(at));
        ps.setString(5, cut(node, 200));
        return ps.executeUpdate() > 0;
      } catch (SQLException e) {
        if (SqlDialect.duplicate(e)) {
          return false;
        }
        throw e;
      }
    });
  }

  @Override
  public void reportDone(LocalDate day, String domain, String destinations, String result) {
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE tls_rpt_reports SET destinations = ?, result = ?"
          + " WHERE day = ? AND domain = ?")) {
        ps.setString(1, cut(destinations, 2000));
        ps.setString(2, cut(result, 2000));
        ps.setString(3, day.toString());
        ps.setString(4, domain);
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public List<Report> reports(LocalDate since) {
    return db.read(c -> {
      List<Report> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT day, domain, report_id, claimed_at, node, destinations,"
          + " result FROM tls_rpt_reports WHERE day >= ? ORDER BY day DESC, domain FETCH FIRST 1000 ROWS ONLY")) {
        ps.setString(1, since.toString());
        try (ResultSet r = ps.executeQuery()) {
          while (r.next()) {
            out.add(new Report(LocalDate.parse(r.getString(1)), r.getString(2), r.getString(3),
                r.getTimestamp(4).toInstant(), r.getString(5), r.getString(6), r.getString(7)));
          }
        }
      }
      return out;
    });
  }
}
