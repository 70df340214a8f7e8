package org.darwinmail.imap;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.darwinmail.store.Database;
import org.darwinmail.store.MessageRow;

/**
 * What changed in a mailbox since a modification sequence (RFC 7162): the reads a session needs to catch up without
 * loading the whole mailbox (indexes in V004__imap.sql).
 */
final class Changes {
  private Changes() {}

  static long highestModseq(Database db, long mailboxId) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT highest_modseq FROM mailboxes WHERE id = ?")) {
        ps.setLong(1, mailboxId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getLong(1) : -1L;
        }
      }
    });
  }

  /** Messages added or changed after {@code modseq}, by UID. */
  static List<MessageRow> changedSince(Database db, long mailboxId, long modseq) {
    return db.read(c -> {
      List<MessageRow> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT mailbox_id, uid, blob, size, internal_date, flags,"
          + " keywords, modseq FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid")) {
        ps.setLong(1, mailboxId);
        ps.setLong(2, modseq);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            String kw = rs.getString(7);
            Set<String> keywords = kw.isEmpty() ? Set.of() : Set.copyOf(Arrays.asList(kw.split(" ")));
            out.add(new MessageRow(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getLong(4),
                rs.getTimestamp(5).toInstant(), rs.getInt(6), keywords, rs.getLong(8)));
          }
        }
      }
      return out;
    });
  }

  /** UIDs expunged after {@code modseq} (RFC 7162 §3.2.10 VANISHED), ascending. */
  static List<Long> expungedSince(Database db, long mailboxId, long modseq) {
    return db.read(c -> {
      List<Long> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid")) {
        ps.setLong(1, mailboxId);
        ps.setLong(2, modseq);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(rs.getLong(1));
          }
        }
      }
      return out;
    });
  }
}
