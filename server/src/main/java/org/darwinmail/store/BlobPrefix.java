package org.darwinmail.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.Set;

/**
 * The blobs whose hash starts with a prefix of two hex digits: one of the 256 ranges of a hash index that the start's
 * sweep reads ({@link BlobStore#sweep(java.util.function.Predicate, java.util.function.Function, java.time.Instant)})
 * instead of asking a query per blob. Bounds, not {@code LIKE}: PostgreSQL uses an index for a {@code LIKE} prefix
 * only under the C collation, and the hex digits 0-9, a-f sort in the same order under every collation.
 */
final class BlobPrefix {
  static final int LENGTH = 2;

  private BlobPrefix() {}

  /** The distinct values of {@code column} in {@code table} that start with {@code prefix}. */
  static Set<String> read(Connection c, String table, String column, String prefix) throws SQLException {
    String next = next(prefix);
    try (PreparedStatement ps = c.prepareStatement("SELECT " + column + " FROM " + table + " WHERE " + column
        + " >= ?" + (next == null ? "" : " AND " + column + " < ?"))) {
      ps.setString(1, prefix);
      if (next != null) {
        ps.setString(2, next);
      }
      Set<String> out = new HashSet<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1).strip()); // CHAR(64): a shorter value would come back padded
        }
      }
      return out;
    }
  }

  /** The prefix after {@code prefix} among the two-hex-digit ones ("0f" -> "10"); null after "ff". */
  static String next(String prefix) {
    if (prefix.length() != LENGTH || !prefix.chars().allMatch(ch -> (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
      throw new IllegalArgumentException("not two hex digits: " + prefix);
    }
    int v = Integer.parseInt(prefix, 16) + 1;
    return v > 0xff ? null : String.format("%02x", v);
  }
}
