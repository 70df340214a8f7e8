package org.darwinmail.store;

import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HexFormat;

/**
 * The mailbox access keys of IMAP URLAUTH (RFC 4467 §3: one per user and mailbox; table {@code urlauth_keys},
 * V014), shared by the nodes of one database. A key is made on first use; RESETKEY deletes it, so that the tokens
 * made under it no longer verify. A mailbox belongs to one account, so its id names both.
 */
public final class UrlAuthKeys {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final SqlRunner db;

  public UrlAuthKeys(SqlRunner db) {
    this.db = db;
  }

  /** The mailbox's key, made now when it has none (for GENURLAUTH). */
  public byte[] key(long mailboxId) {
    byte[] fresh = new byte[32];
    RANDOM.nextBytes(fresh);
    String made = HexFormat.of().formatHex(fresh);
    return db.tx(c -> {
      String found = read(c, mailboxId);
      if (found == null) {
        // Two sessions making the first key together: the second insert is skipped and both read the first.
        try (PreparedStatement ps = c.prepareStatement(
            db.dialect().skippingDuplicates("INSERT INTO urlauth_keys (mailbox_id, access_key) VALUES (?, ?)"))) {
          ps.setLong(1, mailboxId);
          ps.setString(2, made);
          ps.executeUpdate();
        } catch (SQLException e) {
          if (!SqlDialect.duplicate(e)) {
            throw e;
          }
        }
        found = read(c, mailboxId);
      }
      return HexFormat.of().parseHex(found);
    });
  }

  /** The mailbox's key, or null when it has none (a URL made under no key verifies under none). */
  public byte[] existing(long mailboxId) {
    String k = db.read(c -> read(c, mailboxId));
    return k == null ? null : HexFormat.of().parseHex(k);
  }

  /** RFC 4467 §6.1 RESETKEY of one mailbox: its key is gone, every URL made under it is invalid. */
  public void reset(long mailboxId) {
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM urlauth_keys WHERE mailbox_id = ?")) {
        ps.setLong(1, mailboxId);
        return ps.executeUpdate();
      }
    });
  }

  /** RESETKEY without a mailbox: the keys of all the account's mailboxes. */
  public void resetAll(long accountId) {
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM urlauth_keys WHERE mailbox_id IN"
          + " (SELECT id FROM mailboxes WHERE account_id = ?)")) {
        ps.setLong(1, accountId);
        return ps.executeUpdate();
      }
    });
  }

  private static String read(java.sql.Connection c, long mailboxId) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT access_key FROM urlauth_keys WHERE mailbox_id = ?")) {
      ps.setLong(1, mailboxId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1).strip() : null;
      }
    }
  }
}
