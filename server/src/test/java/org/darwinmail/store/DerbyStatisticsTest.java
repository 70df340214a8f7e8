package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 22 (session 26): with index statistics, Derby's optimizer read every row of a mailbox for the expunge's
 * DELETE of a run of UIDs and for changedSince (it chose the foreign key's index on mailbox_id); the store runs
 * without them and drops those an earlier release's automatic statistics made. What the plans visit is read from
 * Derby's runtime statistics for the statements {@link SqlMessageRepository} runs.
 */
class DerbyStatisticsTest {
  private static final String DELETE_RUN = "DELETE FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ?";
  private static final String CHANGED_SINCE =
      "SELECT uid FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid";
  private static final int MAILBOXES = 8;
  private static final int PER_MAILBOX = 500;

  @TempDir
  Path dir;

  @Test
  void anExpungeReadsTheRowsItRemovesAfterAStoreHadIndexStatistics() throws Exception {
    Path data = dir.resolve("data");
    long inbox;
    long highest;
    try (Database db = Database.open(data)) {
      SqlDirectoryRepository d = new SqlDirectoryRepository(db);
      d.addDomain("a.test");
      long account = d.addAccount("alice@a.test", "h", List.of()).id();
      SqlMessageRepository r = new SqlMessageRepository(db);
      List<Long> ids = new ArrayList<>();
      for (int m = 0; m < MAILBOXES; m++) {
        long id = r.createMailbox(account, m == 0 ? Mailbox.INBOX : "folder" + m, null).id();
        ids.add(id);
        List<MessageRepository.NewMessage> batch = new ArrayList<>();
        for (int i = 0; i < PER_MAILBOX; i++) {
          byte[] h = new byte[32];
          h[0] = (byte) m;
          h[1] = (byte) (i >> 8);
          h[2] = (byte) i;
          batch.add(new MessageRepository.NewMessage(id, new BlobRef(HexFormat.of().formatHex(h), 100),
              Instant.now().truncatedTo(ChronoUnit.MILLIS), 0, Set.of()));
        }
        r.append(batch);
      }
      inbox = ids.getFirst();
      highest = r.highestModseq(inbox);
      // What an earlier release's automatic statistics left on a store that grew: the plans change with them.
      db.tx(c -> {
        for (String table : List.of("MESSAGES", "MAILBOXES")) {
          try (CallableStatement cs = c.prepareCall("CALL SYSCS_UTIL.SYSCS_UPDATE_STATISTICS(CURRENT SCHEMA, ?, NULL)")) {
            cs.setString(1, table);
            cs.execute();
          }
        }
        return null;
      });
      assertThat(statistics(db)).isPositive();
      assertThat(rowsVisited(db, DELETE_RUN, inbox, 100, 104)).as("the premise: a plan made with statistics")
          .isGreaterThanOrEqualTo(PER_MAILBOX);
    }
    try (Database db = Database.open(data)) {
      assertThat(statistics(db)).isZero();
      assertThat(rowsVisited(db, DELETE_RUN, inbox, 100, 104)).isLessThan(10);
      assertThat(rowsVisited(db, CHANGED_SINCE, inbox, highest - 5)).isLessThan(10);
    }
  }

  private static int statistics(Database db) {
    return db.read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM sys.sysstatistics");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    });
  }

  /** The rows Derby's plan for {@code sql} visited (its runtime statistics), in a transaction rolled back after. */
  private static long rowsVisited(Database db, String sql, long... args) {
    return db.read(c -> {
      c.setAutoCommit(false);
      try {
        call(c, "CALL SYSCS_UTIL.SYSCS_SET_RUNTIMESTATISTICS(1)");
        try (PreparedStatement ps = c.prepareStatement(sql)) {
          for (int i = 0; i < args.length; i++) {
            ps.setLong(i + 1, args[i]);
          }
          if (ps.execute()) {
            try (ResultSet rs = ps.getResultSet()) {
              while (rs.next()) {
                // read every row: the statistics describe the whole execution
              }
            }
          }
        }
        String plan;
        try (PreparedStatement ps = c.prepareStatement("VALUES SYSCS_UTIL.SYSCS_GET_RUNTIMESTATISTICS()");
            ResultSet rs = ps.executeQuery()) {
          rs.next();
          plan = rs.getString(1);
        }
        call(c, "CALL SYSCS_UTIL.SYSCS_SET_RUNTIMESTATISTICS(0)");
        long visited = 0;
        Matcher m = Pattern.compile("Number of rows visited=(\\d+)").matcher(plan);
        while (m.find()) {
          visited += Long.parseLong(m.group(1));
        }
        assertThat(plan).as("a plan that reads rows").contains("Number of rows visited=");
        return visited;
      } finally {
        c.rollback();
        c.setAutoCommit(true);
      }
    });
  }

  private static void call(Connection c, String sql) throws SQLException {
    try (CallableStatement cs = c.prepareCall(sql)) {
      cs.execute();
    }
  }
}
