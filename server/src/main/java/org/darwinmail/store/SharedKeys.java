package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;

/**
 * The key material the nodes of one PostgreSQL database share (issue 20; tables {@code dkim_keys} and
 * {@code tls_certificate}, V018): each domain's DKIM keys, so that every node signs with the key published in DNS,
 * and the certificate installed through the admin console or by ACME, so that every node serves it. Whoever holds
 * the database's credentials can read these private keys (README, "Several nodes (cluster)"); nothing here logs them.
 * Used only where {@link SqlRunner#shared} (a Derby server keeps its keys in its data directory alone).
 */
public final class SharedKeys {
  private final SqlRunner db;

  public SharedKeys(SqlRunner db) {
    this.db = db;
  }

  /** A DKIM key: the private key PKCS #8 and the public key SubjectPublicKeyInfo, both PEM. */
  public record DkimKey(String privatePem, String publicPem) {
    @Override
    public String toString() {
      return "DkimKey[private key not shown]";
    }
  }

  /** A certificate chain and its key, PEM, and when a node installed it. */
  public record Certificate(String chainPem, String keyPem, Instant installedAt, String node) {
    @Override
    public String toString() {
      return "Certificate[installed " + installedAt + " by " + node + "]";
    }
  }

  /** The stored key of {@code domain} for {@code selector}, or null. */
  public DkimKey dkimKey(String domain, String selector) {
    return db.read(c -> readDkim(c, domain, selector));
  }

  /**
   * Claims {@code domain}'s key for {@code selector} with {@code mine}: inserted when there is none, and the stored
   * one returned either way. When another node inserted first, its key is returned and {@code mine} is dropped.
   */
  public DkimKey claimDkimKey(String domain, String selector, DkimKey mine) {
    return db.tx(c -> {
      DkimKey found = readDkim(c, domain, selector);
      if (found != null) {
        return found;
      }
      // Two nodes claiming together: PostgreSQL's second insert waits for the first, then is skipped.
      try (PreparedStatement ps = c.prepareStatement(db.dialect().skippingDuplicates("INSERT INTO dkim_keys"
          + " (domain, selector, private_key, public_key, created_at, node) VALUES (?, ?, ?, ?, ?, ?)"))) {
        ps.setString(1, domain);
        ps.setString(2, selector);
        ps.setString(3, mine.privatePem());
        ps.setString(4, mine.publicPem());
        ps.setTimestamp(5, Timestamp.from(Instant.now()));
        ps.setString(6, node());
        ps.executeUpdate();
      } catch (SQLException e) {
        if (!SqlDialect.duplicate(e)) {
          throw e;
        }
      }
      return readDkim(c, domain, selector);
    });
  }

  private static DkimKey readDkim(Connection c, String domain, String selector) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT private_key, public_key FROM dkim_keys WHERE domain = ? AND selector = ?")) {
      ps.setString(1, domain);
      ps.setString(2, selector);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new DkimKey(rs.getString(1), rs.getString(2)) : null;
      }
    }
  }

  /** The shared certificate, or null when no node installed one. */
  public Certificate certificate() {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT chain_pem, key_pem, installed_at, node FROM tls_certificate WHERE id = 1");
          ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Certificate(rs.getString(1), rs.getString(2), rs.getTimestamp(3).toInstant(),
            rs.getString(4)) : null;
      }
    });
  }

  /**
   * Stores the certificate every node is to serve (the one row, replaced) and announces it on the cluster event
   * channel in the same transaction ({@link ClusterEvents.Topic#CERTIFICATE}).
   */
  public void storeCertificate(String chainPem, String keyPem) {
    db.tx(c -> {
      Timestamp now = Timestamp.from(Instant.now());
      if (update(c, chainPem, keyPem, now) == 0) {
        try (PreparedStatement ps = c.prepareStatement(db.dialect().skippingDuplicates("INSERT INTO tls_certificate"
            + " (id, chain_pem, key_pem, installed_at, node) VALUES (1, ?, ?, ?, ?)"))) {
          ps.setString(1, chainPem);
          ps.setString(2, keyPem);
          ps.setTimestamp(3, now);
          ps.setString(4, node());
          if (ps.executeUpdate() == 0) {
            update(c, chainPem, keyPem, now); // another node's insert came first: this one is the later
          }
        }
      }
      ClusterEvents.send(db, c, ClusterEvents.Topic.CERTIFICATE, (String) null);
      return null;
    });
  }

  private int update(Connection c, String chainPem, String keyPem, Timestamp now) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "UPDATE tls_certificate SET chain_pem = ?, key_pem = ?, installed_at = ?, node = ? WHERE id = 1")) {
      ps.setString(1, chainPem);
      ps.setString(2, keyPem);
      ps.setTimestamp(3, now);
      ps.setString(4, node());
      return ps.executeUpdate();
    }
  }

  private String node() {
    String n = db.node();
    return n.length() > 200 ? n.substring(0, 200) : n;
  }
}
