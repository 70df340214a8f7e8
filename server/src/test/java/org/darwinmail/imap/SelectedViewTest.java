package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.darwinmail.store.Flags;
import org.darwinmail.store.MessageRow;
import org.darwinmail.store.MessageTable;
import org.darwinmail.store.ViewBudget;
import org.junit.jupiter.api.Test;

/** The selected view's columns give back exactly the rows put in, through growth, updates and removals. */
class SelectedViewTest {
  private static final String HASH = "0123456789abcdef".repeat(3) + "fedcba9876543210";

  private static MessageRow row(long uid, int flags, Set<String> keywords, long modseq) {
    Instant date = Instant.parse("2026-12-05T10:15:30.123456789Z").plusSeconds(uid);
    return new MessageRow(7, uid, HASH.substring(0, 60) + String.format("%04x", uid), 1000 + uid, date, flags,
        keywords, modseq, uid % 2 == 0 ? date : date.plusSeconds(60));
  }

  @Test
  void rowsComeBackAsTheyWentIn() {
    MessageTable t = new MessageTable(7, new ViewBudget(Long.MAX_VALUE));
    for (long uid = 1; uid <= 1000; uid++) {
      t.add(row(uid * 3, (int) (uid % 32), uid % 5 == 0 ? Set.of("$Junk", "work") : Set.of(), uid));
    }
    assertThat(t.size()).isEqualTo(1000);
    for (int i = 0; i < 1000; i++) {
      long uid = (i + 1) * 3L;
      assertThat(t.row(i)).isEqualTo(row(uid, (int) ((i + 1) % 32), (i + 1) % 5 == 0 ? Set.of("$Junk", "work")
          : Set.of(), i + 1));
      assertThat(t.indexOf(uid)).isEqualTo(i);
      assertThat(t.indexOf(uid + 1)).isEqualTo(-1);
    }
  }

  @Test
  void aNewerRowReplacesFlagsKeywordsAndModseq() {
    MessageTable t = new MessageTable(7, new ViewBudget(Long.MAX_VALUE));
    t.add(row(5, 0, Set.of(), 1));
    t.add(row(9, 0, Set.of(), 2));
    MessageRow newer = row(9, Flags.SEEN | Flags.FLAGGED, Set.of("todo"), 8);
    t.set(1, newer);
    assertThat(t.row(1)).isEqualTo(newer);
    assertThat(t.flags(1)).isEqualTo(Flags.SEEN | Flags.FLAGGED);
    assertThatThrownBy(() -> t.set(0, newer)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.add(row(9, 0, Set.of(), 9))).as("UIDs only ascend")
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void removalsKeepOrderAndRecentCount() {
    MessageTable t = new MessageTable(7, new ViewBudget(Long.MAX_VALUE));
    for (long uid = 1; uid <= 10; uid++) {
      t.add(row(uid, 0, Set.of(), uid));
    }
    for (int i = 5; i < 10; i++) {
      t.setRecent(i);
    }
    assertThat(t.recentCount()).isEqualTo(5);
    t.removeIf(uid -> uid % 2 == 0);
    assertThat(t.size()).isEqualTo(5);
    assertThat(t.recentCount()).isEqualTo(2); // 7 and 9 stay, 6, 8 and 10 went
    for (int i = 0; i < 5; i++) {
      long uid = 2L * i + 1;
      assertThat(t.uid(i)).isEqualTo(uid);
      assertThat(t.row(i)).isEqualTo(row(uid, 0, Set.of(), uid));
      assertThat(t.recent(i)).isEqualTo(uid >= 7);
    }
    t.add(row(11, 0, Set.of(), 11));
    assertThat(t.recent(5)).isFalse();
  }

  /** A blob name that is not a SHA-256 in hex (CHAR(64) pads a short one with spaces) is kept as it was. */
  @Test
  void otherBlobNamesAreKeptAsTheyAre() {
    MessageTable t = new MessageTable(7, new ViewBudget(Long.MAX_VALUE));
    String padded = "b1" + " ".repeat(62);
    String upper = HASH.toUpperCase();
    t.add(new MessageRow(7, 1, padded, 10, Instant.EPOCH, 0, Set.of(), 1));
    t.add(row(2, 0, Set.of(), 2));
    t.add(new MessageRow(7, 3, upper, 10, Instant.EPOCH, 0, Set.of(), 3));
    assertThat(t.row(0).blob()).isEqualTo(padded);
    assertThat(t.row(1).blob()).isEqualTo(row(2, 0, Set.of(), 2).blob());
    assertThat(t.row(2).blob()).isEqualTo(upper);
    t.removeIf(uid -> uid == 1);
    assertThat(t.row(0).blob()).isEqualTo(row(2, 0, Set.of(), 2).blob());
    assertThat(t.row(1).blob()).isEqualTo(upper);
  }

  /** A date before 1970 or after 2262 (an APPEND may give any year) survives the columns. */
  @Test
  void datesFarFromNow() {
    MessageTable t = new MessageTable(7, new ViewBudget(Long.MAX_VALUE));
    Instant old = Instant.parse("1601-01-01T00:00:00Z");
    Instant far = Instant.parse("9999-12-31T23:59:59Z");
    t.add(new MessageRow(7, 1, HASH, 10, old, 0, Set.of(), 1, far));
    assertThat(t.row(0).internalDate()).isEqualTo(old);
    assertThat(t.row(0).saveDate()).isEqualTo(far);
  }
  /**
   * A view takes its columns' size from the budget as SELECT reads, gives back the spare capacity when SELECT ends
   * and everything when it closes; a SELECT past the budget stops with nothing more taken; new mail grows a view
   * past it.
   */
  @Test
  void aSelectedViewTakesAndGivesBackItsBudget() {
    org.darwinmail.store.Mailbox box = new org.darwinmail.store.Mailbox(7, 1, "INBOX", null, true, 1, 1, 1);
    ViewBudget budget = new ViewBudget(100 * MessageTable.ROW_BYTES);
    Selected s = new Selected(box, false, budget);
    for (long uid = 1; uid <= 50; uid++) {
      s.load(row(uid, 0, Set.of(), uid));
    }
    s.load(row(30, 0, Set.of(), 30)); // read again after a retried query: skipped
    assertThat(s.size()).isEqualTo(50);
    assertThat(budget.used()).isGreaterThanOrEqualTo(50L * MessageTable.ROW_BYTES);
    s.loaded();
    assertThat(budget.used()).isEqualTo(50L * MessageTable.ROW_BYTES);

    Selected big = new Selected(box, false, budget);
    assertThatThrownBy(() -> {
      for (long uid = 1; uid <= 100; uid++) {
        big.load(row(uid, 0, Set.of(), uid));
      }
    }).isInstanceOf(Selected.TooLarge.class);
    big.close();
    assertThat(budget.used()).isEqualTo(50L * MessageTable.ROW_BYTES);

    for (long uid = 51; uid <= 120; uid++) {
      s.add(row(uid, 0, Set.of(), uid)); // new mail while selected
    }
    assertThat(budget.used()).isGreaterThan(budget.limit());
    s.close();
    assertThat(budget.used()).isZero();
  }
  /**
   * FETCH, STORE and COPY read the messages a set names as rows made one at a time: the right rows in sequence
   * order, less the ones expunged elsewhere when asked, and a read after the view dropped messages fails loudly
   * instead of giving another message's row.
   */
  @Test
  void resolvedRowsAreMadeAsTheyAreReadAndKnowWhenTheViewMoved() {
    org.darwinmail.store.Mailbox box = new org.darwinmail.store.Mailbox(7, 1, "INBOX", null, true, 1, 1, 1);
    Selected s = new Selected(box, false, new ViewBudget(1 << 20));
    for (long uid = 1; uid <= 10; uid++) {
      s.load(row(uid * 2, 0, Set.of(), uid));
    }
    SeqSet uids4to10 = new SeqSet(List.of(new long[] {4, 10}), false);
    assertThat(s.resolve(uids4to10, true, List.of())).extracting(MessageRow::uid).containsExactly(4L, 6L, 8L, 10L);
    SeqSet lastTwo = new SeqSet(List.of(new long[] {SeqSet.STAR, 9}), false);
    assertThat(s.resolve(lastTwo, false, List.of())).containsExactly(s.row(8), s.row(9));
    assertThat(s.resolve(SeqSet.SAVED, true, List.of(20L, 2L, 99L))).extracting(MessageRow::uid)
        .containsExactly(2L, 20L);

    List<MessageRow> rows = s.resolve(uids4to10, true, List.of());
    s.gone.add(6L);
    assertThat(((Selected.Rows) rows).live()).extracting(MessageRow::uid).containsExactly(4L, 8L, 10L);
    s.dropGone();
    assertThatThrownBy(() -> rows.get(0)).isInstanceOf(IllegalStateException.class);
    assertThat(s.resolve(uids4to10, true, List.of())).extracting(MessageRow::uid).containsExactly(4L, 8L, 10L);
  }
}
