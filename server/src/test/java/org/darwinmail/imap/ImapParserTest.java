package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.darwinmail.imap.FetchItem.Spec;
import org.darwinmail.imap.ImapCommand.*;
import org.darwinmail.imap.SearchKey.DateOp;
import org.darwinmail.store.Flags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The parser on examples from RFC 3501 §6 and the extensions' RFCs, as a table of (input, expected record); no I/O.
 */
class ImapParserTest {
  static ImapCommand parse(String line) {
    return ImapParser.parse(List.of(line), false);
  }

  private static Arguments row(String line, ImapCommand expected) {
    return Arguments.of(List.<Object>of(line), expected);
  }

  private static Arguments row(List<Object> parts, ImapCommand expected) {
    return Arguments.of(parts, expected);
  }

  private static SeqSet set(long... bounds) {
    List<long[]> ranges = new ArrayList<>();
    for (int i = 0; i < bounds.length; i += 2) {
      ranges.add(new long[] {bounds[i], bounds[i + 1]});
    }
    return new SeqSet(ranges, false);
  }

  private static final long STAR = SeqSet.STAR;

  private static FetchItem.Section section(String label, boolean peek, Spec spec, List<String> fields) {
    return new FetchItem.Section(label, peek, false, false, new int[0], spec, fields, null);
  }

  /** Each input (a command line, or its parts with literals) and the record it parses to, compared whole. */
  static Stream<Arguments> commands() {
    byte[] msg = "Subject: hi\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII);
    byte[] msg2 = "Subject: two\r\n\r\ny\r\n".getBytes(StandardCharsets.US_ASCII);
    SearchKey smith = new SearchKey.And(List.of(new SearchKey.Flag(Flags.FLAGGED, true),
        new SearchKey.Date(DateOp.SINCE, LocalDate.of(1994, 2, 1), false),
        new SearchKey.Not(new SearchKey.Header("FROM", "Smith"))));
    return Stream.of(
        // RFC 3501 §6.1
        row("abcd CAPABILITY", new Capability("abcd")),
        row("a002 NOOP", new Noop("a002")),
        row("A023 LOGOUT", new Logout("A023")),
        // RFC 2971 §3.1
        row("a023 ID (\"name\" \"sodr\" \"version\" \"19.34\")", new Id("a023",
            new LinkedHashMap<>(Map.of("name", "sodr", "version", "19.34")))),
        // RFC 3501 §6.2
        row("a001 STARTTLS", new StartTls("a001")),
        row("a001 login SMITH SESAME", new Login("a001", "SMITH", "SESAME")),
        row("a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=", new Authenticate("a", "PLAIN", "dGVzdAB0ZXN0AHRlc3Q=")),
        row("a AUTHENTICATE plain", new Authenticate("a", "PLAIN", null)),
        // RFC 3501 §6.3, RFC 5161, RFC 7162 §3.2.5, RFC 6154 §5.3
        row("t2 ENABLE CONDSTORE utf8=accept", new Enable("t2", List.of("CONDSTORE", "UTF8=ACCEPT"))),
        row("A142 SELECT INBOX", new Select("A142", "INBOX", false, false, null)),
        row("A932 EXAMINE blurdybloop", new Select("A932", "blurdybloop", true, false, null)),
        row("a SELECT INBOX (CONDSTORE)", new Select("a", "INBOX", false, true, null)),
        row("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))", new Select("A02", "INBOX",
            false, true, new Qresync(67890007, 20050715194045000L, set(41, 41, 43, 211, 214, 541)))),
        row("A003 CREATE owatagusiam/", new Create("A003", "owatagusiam", List.of())), // RFC 3501 §6.3.3
        row("t1 CREATE \"Important Messages\" (USE (\\Important))", new Create("t1", "Important Messages",
            List.of("\\Important"))),
        // RFC 6154 §6: several use-attrs, or none, are grammar; which a mailbox may have is the handler's (USEATTR)
        row("t1 CREATE x (USE (\\Sent \\Drafts))", new Create("t1", "x", List.of("\\Sent", "\\Drafts"))),
        row("t1 CREATE x (USE ())", new Create("t1", "x", List.of())),
        row("t CREATE \"Entw&APw-rfe\"", new Create("t", "Entw\u00fcrfe", List.of())),
        row("A683 DELETE blurdybloop", new Delete("A683", "blurdybloop")),
        row("A683 RENAME blurdybloop sarasoop", new Rename("A683", "blurdybloop", "sarasoop")),
        row("A002 SUBSCRIBE #news.comp.mail.mime", new Subscribe("A002", "#news.comp.mail.mime", true)),
        row("A002 UNSUBSCRIBE #news.comp.mail.mime", new Subscribe("A002", "#news.comp.mail.mime", false)),
        row("A101 LIST \"\" \"\"", new ListMailboxes("A101", "", List.of(""), false, Set.of(), Set.of(),
            List.of())),
        row("A202 LIST ~/Mail/ %", new ListMailboxes("A202", "~/Mail/", List.of("%"), false, Set.of(), Set.of(),
            List.of())),
        row("A002 LSUB \"#news.\" \"comp.mail.*\"", new ListMailboxes("A002", "#news.", List.of("comp.mail.*"),
            true, Set.of(), Set.of(), List.of())),
        row("A02 LIST (SUBSCRIBED) \"\" \"*\"", new ListMailboxes("A02", "", List.of("*"), false,
            Set.of("SUBSCRIBED"), Set.of(), List.of())),
        row("A04 LIST \"\" % RETURN (CHILDREN STATUS (MESSAGES UNSEEN))", new ListMailboxes("A04", "",
            List.of("%"), false, Set.of(), Set.of("CHILDREN", "STATUS"), List.of("MESSAGES", "UNSEEN"))),
        row("A042 STATUS blurdybloop (UIDNEXT MESSAGES)", new Status("A042", "blurdybloop",
            List.of("UIDNEXT", "MESSAGES"))),
        row(List.of("A003 APPEND saved-messages (\\Seen) ", ImapLiteral.of(msg), ""), new Append("A003",
            "saved-messages", List.of("\\Seen"), null, ImapLiteral.of(msg))),
        row("a NAMESPACE", new Namespace("a")),
        row("a002 IDLE", new Idle("a002")),
        row("G0001 GETQUOTA \"\"", new GetQuota("G0001", "")),
        row("A003 GETQUOTAROOT INBOX", new GetQuotaRoot("A003", "INBOX")),
        // RFC 9208 §4.1.3 example, §7 (setquota-list may be empty; number64 limits)
        row("S0000 SETQUOTA \"\" (STORAGE 512)", new SetQuota("S0000", "", limits("STORAGE", 512L))),
        row("S1 SETQUOTA \"\" (storage 9223372036854775807 MESSAGE 5)", new SetQuota("S1", "",
            limits("STORAGE", Long.MAX_VALUE, "MESSAGE", 5L))),
        row("S2 SETQUOTA \"\" ()", new SetQuota("S2", "", limits())),
        row("A042 STATUS x (DELETED DELETED-STORAGE SIZE)", new Status("A042", "x",
            List.of("DELETED", "DELETED-STORAGE", "SIZE"))),
        row("a COMPRESS DEFLATE", new Compress("a", "DEFLATE")),
        // RFC 3501 §6.4, RFC 3691, RFC 4315 §2.1
        row("FXXZ CHECK", new Check("FXXZ")),
        row("A341 CLOSE", new Close("A341")),
        row("a UNSELECT", new Unselect("a")),
        row("A202 EXPUNGE", new Expunge("A202", null)),
        row("A003 UID EXPUNGE 3000:3002", new Expunge("A003", set(3000, 3002))),
        row("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", new Search("A282", false, Set.of(), smith)),
        row("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", new Search("A282",
            false, Set.of("MIN", "COUNT"), smith)),
        row("A301 UID SEARCH RETURN () UID 1:*", new Search("A301", true, Set.of("ALL"),
            new SearchKey.Uids(set(1, STAR)))),
        row("a SEARCH RETURN (SAVE) $", new Search("a", false, Set.of("SAVE"), new SearchKey.Seqs(SeqSet.SAVED))),
        row("A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL", new Sort("A283", false, Set.of(), List.of(
            new SortKey("SUBJECT", false), new SortKey("DATE", true)), new SearchKey.All())),
        // RFC 5957 §4 (SORT=DISPLAY), RFC 5267 §3.3 (ESORT), §4.2-4.4 (CONTEXT: the hint dropped, PARTIAL ordered)
        row("a SORT (DISPLAYFROM REVERSE DISPLAYTO) UTF-8 ALL", new Sort("a", false, Set.of(), List.of(
            new SortKey("DISPLAYFROM", false), new SortKey("DISPLAYTO", true)), new SearchKey.All())),
        row("E01 UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED", new Sort("E01", true, Set.of("ALL"),
            List.of(new SortKey("DATE", true)), new SearchKey.Flag(Flags.DELETED, false))),
        row("B02 UID SORT RETURN (UPDATE COUNT) (ARRIVAL) UTF-8 ALL", new Sort("B02", true,
            Set.of("UPDATE", "COUNT"), List.of(new SortKey("ARRIVAL", false)), new SearchKey.All())),
        row("A01 SEARCH RETURN (CONTEXT COUNT) ALL", new Search("A01", false, Set.of("COUNT"), new SearchKey.All())),
        row("A02 UID SEARCH RETURN (CONTEXT) ALL", new Search("A02", true, Set.of("ALL"), new SearchKey.All())),
        row("A03 UID SEARCH RETURN (PARTIAL 500:1) ALL", new Search("A03", true, Set.of("PARTIAL 1:500"),
            new SearchKey.All())),
        row("B04 CANCELUPDATE \"B01\" \"B02\"", new CancelUpdate("B04", List.of("B01", "B02"))),
        // RFC 5256 §4
        row("A283 THREAD ORDEREDSUBJECT UTF-8 FROM x", new ThreadMessages("A283", false, "ORDEREDSUBJECT",
            new SearchKey.Header("FROM", "x"))),
        row("A284 UID THREAD REFERENCES US-ASCII ALL", new ThreadMessages("A284", true, "REFERENCES",
            new SearchKey.All())),
        row("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])", new Fetch("A654", false, set(2, 4),
            List.of(new FetchItem.Flags(), section("BODY[HEADER.FIELDS (DATE FROM)]", false, Spec.HEADER_FIELDS,
                List.of("DATE", "FROM"))), null, false)),
        row("a FETCH 1 FAST", new Fetch("a", false, set(1, 1), List.of(new FetchItem.Flags(),
            new FetchItem.InternalDate(), new FetchItem.Rfc822Size()), null, false)),
        row("a FETCH 1 BODY.PEEK[]<0.100>", new Fetch("a", false, set(1, 1), List.of(new FetchItem.Section(
            "BODY[]<0>", true, false, false, new int[0], Spec.ALL, List.of(), new long[] {0, 100})), null, false)),
        row("a FETCH 1 BINARY.SIZE[1.2]", new Fetch("a", false, set(1, 1), List.of(new FetchItem.Section(
            "BINARY.SIZE[1.2]", true, true, true, new int[] {1, 2}, Spec.ALL, List.of(), null)), null, false)),
        row("a103 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)", new Fetch("a103", true, set(1, STAR),
            List.of(new FetchItem.Uid(), new FetchItem.Flags(), new FetchItem.ModSeq()), 12345L, true)),
        row("A003 STORE 2:4 +FLAGS (\\Deleted)", new Store("A003", false, set(2, 4), StoreOp.ADD, false,
            List.of("\\Deleted"), null)),
        row("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) -FLAGS.SILENT \\Seen", new Store("d105", false,
            set(7, 7, 5, 5, 9, 9), StoreOp.REMOVE, true, List.of("\\Seen"), 320162338L)),
        row("a UID STORE 1 FLAGS ($Forwarded)", new Store("a", true, set(1, 1), StoreOp.REPLACE, false,
            List.of("$Forwarded"), null)),
        row("A003 COPY 2:4 MEETING", new Copy("A003", false, set(2, 4), "MEETING", false)),
        row("a UID MOVE 42:69 foo", new Copy("a", true, set(42, 69), "foo", true)),
        // RFC 3502 §6.3.11 (MULTIAPPEND): several append-messages, each with its own flags and date
        row(List.of("A003 APPEND saved-messages (\\Seen) ", ImapLiteral.of(msg), " \"7-Feb-1994 21:52:25 -0800\" ",
            ImapLiteral.of(msg2), " (\\Flagged) ", ImapLiteral.of(msg), ""), new Append("A003", "saved-messages",
            List.of(new AppendMessage(List.of("\\Seen"), null, ImapLiteral.of(msg)),
                new AppendMessage(List.of(), Instant.parse("1994-02-08T05:52:25Z"), ImapLiteral.of(msg2)),
                new AppendMessage(List.of("\\Flagged"), null, ImapLiteral.of(msg))))),
        // RFC 8508 §3.1 (REPLACE, UID REPLACE)
        row(List.of("A003 REPLACE 4 Drafts ", ImapLiteral.of(msg), ""), new Replace("A003", false, 4, "Drafts",
            new AppendMessage(List.of(), null, ImapLiteral.of(msg)))),
        row(List.of("B004 UID REPLACE 2000 Drafts (\\Draft) ", ImapLiteral.of(msg), ""), new Replace("B004", true,
            2000, "Drafts", new AppendMessage(List.of("\\Draft"), null, ImapLiteral.of(msg)))),
        // RFC 4469 §5 (CATENATE; Appendix A's example, "section=" in lower case as there), with MULTIAPPEND
        row(List.of("A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL \"/Drafts;UIDVALIDITY=385759045/;"
            + "UID=20/;section=HEADER\" TEXT ", ImapLiteral.of(msg), " URL /Drafts/;UID=20/;section=1.MIME) ",
            ImapLiteral.of(msg2), ""), new Append("A003", "Drafts", List.of(
                new AppendMessage(List.of("\\Seen", "\\Draft", "$MDNSent"), null, null, List.of(
                    new CatUrl("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER"),
                    new CatText(ImapLiteral.of(msg)), new CatUrl("/Drafts/;UID=20/;section=1.MIME"))),
                new AppendMessage(List.of(), null, ImapLiteral.of(msg2))))),
        row(List.of("B1 UID REPLACE 7 Drafts CATENATE (TEXT ~", ImapLiteral.of(msg), ")"), new Replace("B1", true, 7,
            "Drafts", new AppendMessage(List.of(), null, null, List.of(new CatText(ImapLiteral.of(msg)))))),
        // RFC 8514 §4 (SAVEDATE), RFC 8474 §5-§6 (EMAILID, THREADID), RFC 8970 §3 (PREVIEW)
        row("a FETCH 1:* (SAVEDATE EMAILID THREADID PREVIEW (LAZY) PREVIEW)", new Fetch("a", false, set(1, STAR),
            List.of(new FetchItem.SaveDate(), new FetchItem.EmailId(), new FetchItem.ThreadId(),
                new FetchItem.Preview(true), new FetchItem.Preview(false)), null, false)),
        row("a FETCH 1 PREVIEW (LAZY)", new Fetch("a", false, set(1, 1), List.of(new FetchItem.Preview(true)),
            null, false)),
        row("a SEARCH SAVEDBEFORE 1-Jan-2020 SAVEDON 2-jan-2020 SAVEDSINCE 3-Jan-2020 SAVEDATESUPPORTED",
            new Search("a", false, Set.of(), new SearchKey.And(List.of(
                new SearchKey.SaveDate(DateOp.BEFORE, LocalDate.of(2020, 1, 1)),
                new SearchKey.SaveDate(DateOp.ON, LocalDate.of(2020, 1, 2)),
                new SearchKey.SaveDate(DateOp.SINCE, LocalDate.of(2020, 1, 3)), new SearchKey.SaveDateSupported())))),
        row("a SEARCH OR EMAILID Mabc_1-x THREADID T1", new Search("a", false, Set.of(), new SearchKey.Or(
            new SearchKey.ObjectId(true, "Mabc_1-x"), new SearchKey.ObjectId(false, "T1")))),
        row("A042 STATUS foo (MAILBOXID)", new Status("A042", "foo", List.of("MAILBOXID"))));
  }

  @ParameterizedTest
  @MethodSource("commands")
  void commandsParseToTheirRecords(List<Object> parts, ImapCommand expected) {
    assertThat(ImapParser.parse(parts, false)).usingRecursiveComparison().withStrictTypeChecking()
        .isEqualTo(expected);
  }

  /** SETQUOTA's resource limits in the order written. */
  private static Map<String, Long> limits(Object... nameThenLimit) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < nameThenLimit.length; i += 2) {
      m.put((String) nameThenLimit[i], (Long) nameThenLimit[i + 1]);
    }
    return m;
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a", "a FETCH", "a FETCH 1", "a FETCH 0 UID", "a FETCH 1:* BODY[1.2.HEADER.FOO]",
      "a STORE 1 FLAGS (\\Bogus)", "a SEARCH (((", "a SEARCH OR ALL", "a LOGIN \"unterminated",
      "a SELECT", "a APPEND INBOX \"bad date\" {3}", "a FETCH 1 BODY[]<5>", "\"q\" NOOP", "a UID FROB",
      "a FETCH 99999999999 UID", "a ENABLE", "a FETCH 1 PREVIEW (FOO)", "a FETCH 1 (PREVIEW (LAZY)", "a SEARCH EMAILID",
      "a SEARCH EMAILID M.1", "a SEARCH THREADID TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT", "a SEARCH SAVEDON 2020", "a REPLACE 0 x {3}",
      "a REPLACE 1 x", "a UID REPLACE 1", "a STATUS x (MAILBOXIDS)",
      "a SORT (DISPLAYCC) UTF-8 ALL", "a SEARCH RETURN (PARTIAL 0:5) ALL",
      "a SEARCH RETURN (PARTIAL 1:*) ALL", "a SEARCH RETURN (PARTIAL 1:2 ALL) ALL",
      "a SEARCH RETURN (ALL PARTIAL 1:2) 1",
      "a SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL", "a CANCELUPDATE", "a CANCELUPDATE B01",
      "a THREAD REFS UTF-8 ALL", "a THREAD REFERENCES UTF-8", "a UID THREAD ORDEREDSUBJECT",
      "a APPEND x CATENATE", "a APPEND x CATENATE ()", "a APPEND x CATENATE (URL \"\")",
      "a APPEND x CATENATE (TEXT \"x\")", "a APPEND x CATENATE (URL /a", "a APPEND x CATENATE URL /a",
      "a APPEND x CATENATE (URL /a  URL /b)", "a APPEND x CATENATE (FOO /a)",
      // RFC 9208 §7 setquota; RFC 9051 §9 / RFC 5819 §4 status-att list of one or more; RFC 6154 §6 use-attr
      "a SETQUOTA", "a SETQUOTA \"\"", "a SETQUOTA \"\" STORAGE 5", "a SETQUOTA \"\" (STORAGE)",
      "a SETQUOTA \"\" (STORAGE -1)", "a SETQUOTA \"\" (STORAGE 5 STORAGE 6)",
      "a SETQUOTA \"\" (STORAGE 99999999999999999999)", "a SETQUOTA \"\" (STORAGE 5", "a SETQUOTA \"\" (STORAGE 5 )",
      "a STATUS INBOX ()", "a STATUS INBOX (MESSAGES  UNSEEN)", "a STATUS INBOX ( MESSAGES)",
      "a LIST \"\" * RETURN (STATUS ())", "a CREATE x (USE (Sent))", "a CREATE x (USE (\\Sent)",
      "a CREATE x (USE (\\Sent  \\Drafts))", "a CREATE x (USE (\\))"})
  void malformedCommandsAreBadNeverACrash(String line) {
    assertThatThrownBy(() -> parse(line)).isInstanceOf(ImapException.class)
        .satisfies(e -> assertThat(((ImapException) e).kind()).isEqualTo(ImapException.Kind.BAD));
  }

  /** RFC 4469 §5: CATENATE's parts are bounded (each URL is a read of the store). */
  @Test
  void parsesTheUrlauthCommands() {
    // RFC 4467 §6's examples
    assertThat(parse("a31 RESETKEY")).isEqualTo(new ResetKey("a31", null, List.of()));
    assertThat(parse("a32 RESETKEY INBOX")).isEqualTo(new ResetKey("a32", "INBOX", List.of()));
    assertThat(parse("a33 RESETKEY INBOX XSAMPLE")).isEqualTo(new ResetKey("a33", "INBOX", List.of("XSAMPLE")));
    String u1 = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred";
    String u2 = "imap://joe@example.com/INBOX/;uid=20/;section=1.3;urlauth=submit+fred";
    assertThat(parse("a001 GENURLAUTH \"" + u1 + "\" INTERNAL \"" + u2 + "\" internal"))
        .isEqualTo(new GenUrlAuth("a001", List.of(u1, u2), List.of("INTERNAL", "INTERNAL")));
    assertThat(parse("a002 URLFETCH \"" + u1 + ":internal:91354a473744909de610943775f92038\""))
        .isEqualTo(new UrlFetch("a002", List.of(u1 + ":internal:91354a473744909de610943775f92038")));
    for (String bad : List.of("a GENURLAUTH", "a GENURLAUTH \"u\"", "a URLFETCH", "a RESETKEY INBOX (X)")) {
      assertThatThrownBy(() -> parse(bad)).as(bad).isInstanceOf(ImapException.class);
    }
    String many = "a URLFETCH" + " x".repeat(ImapParser.MAX_URLS + 1);
    assertThatThrownBy(() -> parse(many)).isInstanceOf(ImapException.class).hasMessageContaining("Too many URLs");
    assertThat(parse("a URLFETCH" + " x".repeat(ImapParser.MAX_URLS))).isInstanceOf(UrlFetch.class);
  }

  @Test
  void catenatePartsAreBounded() {
    String parts = "URL /INBOX/;UID=1 ".repeat(ImapParser.MAX_CAT_PARTS);
    assertThat(parse("a APPEND x CATENATE (" + parts.strip() + ")")).isInstanceOf(Append.class);
    assertThatThrownBy(() -> parse("a APPEND x CATENATE (" + parts + "URL /INBOX/;UID=1)"))
        .isInstanceOf(ImapException.class).hasMessageContaining("Too many CATENATE parts");
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
