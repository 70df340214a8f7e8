package org.darwinmail.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

/** The blob candidates in SQL that Derby and PostgreSQL both run as it is. */
public final class SqlBlobCandidateRepository implements BlobCandidateRepository {
  private final SqlRunner db;

  public SqlBlobCandidateRepository(SqlRunner db) {
    this.db = db;
  }

  @Override
  public List<Candidate> candidates(int limit) {
    return db.read(c -> {
      List<Candidate> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT hash, MAX(id) FROM blob_candidates GROUP BY hash"
          + " ORDER BY MAX(id) FETCH FIRST " + limit + " ROWS ONLY"); ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new Candidate(rs.getString(1), rs.getLong(2)));
        }
      }
      return out;
    });
  }

  @Override
  public void settled(List<Candidate> settled) {
    if (settled.isEmpty()) {
      return;
    }
    db.tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM blob_candidates WHERE hash = ? AND id <= ?")) {
        for (Candidate cand : settled) {
          ps.setString(1, cand.hash());
          ps.setLong(2, cand.upToId());
          ps.addBatch();
        }
        return ps.executeBatch();
      }
    });
  }
}
