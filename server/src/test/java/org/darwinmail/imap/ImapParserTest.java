package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.darwinmail.imap.ImapCommand.*;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The parser on examples from RFC 3501 §6 and the extensions' RFCs; no I/O. */
class ImapParserTest {
  static ImapCommand parse(String line) {
    return ImapParser.parse(List.of(line), false);
  }

  @Test
  void rfcExamples() {
    assertThat(parse("A142 SELECT INBOX")).isEqualTo(new Select("A142", "INBOX", false, false, null));
    assertThat(parse("a001 login SMITH SESAME")).isEqualTo(new Login("a001", "SMITH", "SESAME"));
    Append a = (Append) ImapParser.parse(List.of("A003 APPEND saved-messages (\\Seen) ",
        ImapLiteral.of("Subject: hi\r\n\r\nx\r\n".getBytes()), ""), false);
    assertThat(a.mailbox()).isEqualTo("saved-messages");
    assertThat(a.flags()).containsExactly("\\Seen");
    assertThat(a.message().size()).isEqualTo(18);
    Fetch f = (Fetch) parse("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])");
    assertThat(f.items()).hasSize(2);
    assertThat(((FetchItem.Section) f.items().get(1)).label()).isEqualTo("BODY[HEADER.FIELDS (DATE FROM)]");
    Store s = (Store) parse("A003 STORE 2:4 +FLAGS (\\Deleted)");
    assertThat(s.op()).isEqualTo(StoreOp.ADD);
    assertThat(s.flags()).containsExactly("\\Deleted");
    Search q = (Search) parse("A284 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
    assertThat(q.key()).isInstanceOf(SearchKey.And.class);
    assertThat(parse("A202 LIST ~/Mail/ %")).isInstanceOf(ListMailboxes.class);
    assertThat(parse("a UID EXPUNGE 3000:3002")).isInstanceOf(Expunge.class);
    assertThat(parse("a1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))"))
        .isInstanceOf(Select.class);
    assertThat(parse("a103 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)")).isInstanceOf(Fetch.class);
    Copy mv = (Copy) parse("a UID MOVE 42:69 foo");
    assertThat(mv.move() && mv.uid() && mv.mailbox().equals("foo")).isTrue();
    assertThat(mv.set().contains(42, 100) && mv.set().contains(69, 100) && !mv.set().contains(70, 100)).isTrue();
    assertThat(parse("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""))
        .isInstanceOf(Search.class);
    assertThat(parse("A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL")).isInstanceOf(Sort.class);
    assertThat(parse("t CREATE \"Entw&APw-rfe\"")).isEqualTo(new Create("t", "Entwürfe", null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a", "a FETCH", "a FETCH 1", "a FETCH 0 UID", "a FETCH 1:* BODY[1.2.HEADER.FOO]",
      "a STORE 1 FLAGS (\\Bogus)", "a SEARCH (((", "a SEARCH OR ALL", "a LOGIN \"unterminated",
      "a SELECT", "a APPEND INBOX \"bad date\" {3}", "a FETCH 1 BODY[]<5>", "\"q\" NOOP", "a UID FROB",
      "a FETCH 99999999999 UID", "a ENABLE"})
  void malformedCommandsAreBadNeverACrash(String line) {
    assertThatThrownBy(() -> parse(line)).isInstanceOf(ImapException.class)
        .satisfies(e -> assertThat(((ImapException) e).kind()).isEqualTo(ImapException.Kind.BAD));
  }

  /** Issue 23: each search key is a pass over the mailbox; nesting must not get round the limit. */
  @Test
  void searchKeysAreCountedInsideParentheses() {
    assertThat(parse("a SEARCH (" + "SEEN ".repeat(998) + "ALL)")).isInstanceOf(Search.class);
    assertThatThrownBy(() -> parse("a SEARCH " + "(SEEN (SEEN UNSEEN) TEXT x) ".repeat(300) + "ALL"))
        .isInstanceOf(ImapException.class).hasMessageContaining("Too many search keys");
  }

  /** Found by Jazzer: the reader's sentinels sent by a client (U+FFFF "a literal follows", NUL "the end"). */
  @ParameterizedTest
  @ValueSource(strings = {"a2 SELECT \uFFFF", "a2 SELECT \uFFFF\uFFFF x", "a2 LOGIN \u0000 x", "a2 SELECT {3}\uFFFF"})
  void sentinelCharactersFromAClientAreJustCharacters(String line) {
    org.assertj.core.api.Assertions.assertThatCode(() -> {
      try {
        parse(line);
      } catch (ImapException e) {
        // a protocol error is a fine answer; anything else is a crash
      }
    }).doesNotThrowAnyException();
  }
}
