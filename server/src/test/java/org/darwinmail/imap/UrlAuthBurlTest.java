package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.darwinmail.config.SmtpConfig;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.Submitter;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IMAP URLAUTH (RFC 4467) and SMTP BURL (RFC 4468) together, as a mail client sends a draft without uploading it
 * again: APPEND to the IMAP store, GENURLAUTH for "submit+" the user, then BURL on submission after AUTH. What must
 * be refused (a tampered token, another UIDVALIDITY, an expired URL, another user's mailbox, BURL before AUTH or on
 * port 25, a key reset) delivers nothing.
 */
class UrlAuthBurlTest {
  static TestServer server;
  static final String ALICE = "alice@burl.test";
  static final String BOB = "bob@burl.test";
  // Date and Message-ID as a client writes them in a draft: submission adds neither (RFC 6409 §8.2, §8.3)
  static final String DRAFT = "From: alice@burl.test\r\nTo: bob@burl.test\r\nSubject: draft\r\n"
      + "Date: Fri, 4 Dec 2026 09:00:00 +0000\r\nMessage-ID: <draft@burl.test>\r\n\r\n"
      + "the draft's body\r\nwith \u00e9 in UTF-8\r\n";
  private static final Pattern APPENDUID = Pattern.compile("\\[APPENDUID (\\d+) (\\d+)]");

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser(ALICE, "alice-pw");
    server.addUser(BOB, "bob-pw");
  }

  /** The rump URL of a message of {@code user}'s in {@code box}, for {@code access}, with {@code extra} inside. */
  static String rump(String user, String box, long[] uid, String extra, String access) {
    return "imap://" + user.replace("@", "%40") + "@" + server.config().hostname() + "/" + box + ";UIDVALIDITY="
        + uid[0] + "/;UID=" + uid[1] + extra + ";URLAUTH=" + access.replace("@", "%40");
  }

  /** APPENDs {@code message} to {@code box} (made when missing); returns its UIDVALIDITY and UID. */
  static long[] append(ImapClient c, String box, String message) throws IOException {
    c.cmd("CREATE " + box);
    byte[] b = message.getBytes(StandardCharsets.UTF_8);
    c.c.raw(("a1 APPEND " + box + " {" + b.length + "+}\r\n").getBytes(StandardCharsets.US_ASCII));
    c.c.raw(b);
    c.c.raw("\r\n".getBytes(StandardCharsets.US_ASCII));
    String done = c.until("a1 ").getLast();
    Matcher m = APPENDUID.matcher(done);
    assertThat(m.find()).as(done).isTrue();
    return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
  }

  /** GENURLAUTH of one rump URL: the URL with its token. */
  static String generate(ImapClient c, String rump) throws IOException {
    List<String> r = c.cmd("GENURLAUTH \"" + rump + "\" INTERNAL");
    assertThat(r.getLast()).contains("OK GENURLAUTH completed");
    assertThat(r.getFirst()).startsWith("* GENURLAUTH \"" + rump + ":INTERNAL:");
    String url = r.getFirst().substring("* GENURLAUTH \"".length(), r.getFirst().length() - 1);
    assertThat(url).matches(Pattern.quote(rump) + ":INTERNAL:[0-9a-f]{64}");
    return url;
  }

  /** The messages in {@code user}'s INBOX, as stored. */
  static List<byte[]> inbox(String user) throws IOException {
    var s = server.services();
    long account = s.directory().account(user).orElseThrow().id();
    long box = s.mail().mailbox(account, "INBOX").orElseThrow().id();
    List<byte[]> out = new java.util.ArrayList<>();
    s.mail().awaitIntake();
    for (MessageRow row : s.mail().messages(box)) {
      try (InputStream in = s.mail().open(row)) {
        out.add(in.readAllBytes());
      }
    }
    return out;
  }

  /** MAIL, RCPT to bob, then BURL {@code url} LAST: the reply to BURL. */
  static String burl(Submitter s, String url) throws IOException {
    s.send("MAIL FROM:<" + ALICE + ">");
    Submitter.expect(s.read(), "250");
    s.send("RCPT TO:<" + BOB + ">");
    Submitter.expect(s.read(), "250");
    s.send("BURL " + url + " LAST");
    return s.read();
  }

  /**
   * BURL of {@code url} in a session of its own: a refusal counts as a client error, and a session that makes too
   * many is closed (a guard against guessing tokens).
   */
  static String refused(String url) throws IOException {
    try (Submitter s = new Submitter(server.port("submission"), ALICE, "alice-pw")) {
      return burl(s, url);
    }
  }

  /** The stored message is the trace fields the server adds on top of exactly the bytes the URL named. */
  static void assertTraceThen(byte[] stored, byte[] expected) {
    String s = new String(stored, StandardCharsets.UTF_8);
    String e = new String(expected, StandardCharsets.UTF_8);
    assertThat(s).endsWith(e);
    String trace = s.substring(0, s.length() - e.length());
    assertThat(trace).matches("(?s)(Return-Path: <[^>]*>\r\n)?Received: .*\r\n");
    assertThat(trace.split("\r\n(?![ \t])")).allMatch(f -> f.startsWith("Return-Path:") || f.startsWith("Received:"));
  }

  @Test
  void aDraftAppendedOverImapIsSentWithBurlByteForByte() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login(ALICE, "alice-pw");
        Submitter s = new Submitter(server.port("submission"), ALICE, "alice-pw")) {
      long[] uid = append(c, "drafts1", DRAFT);
      String url = generate(c, rump(ALICE, "drafts1", uid, "", "submit+" + ALICE));
      int before = inbox(BOB).size();
      assertThat(burl(s, url)).startsWith("250 2.0.0 OK queued as ");
      List<byte[]> after = inbox(BOB);
      assertThat(after).hasSize(before + 1);
      assertTraceThen(after.getLast(), DRAFT.getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void burlPartsAndBdatChunksMakeOneMessageInOrder() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login(ALICE, "alice-pw");
        Submitter s = new Submitter(server.port("submission"), ALICE, "alice-pw")) {
      long[] uid = append(c, "drafts2", DRAFT);
      // RFC 4468 §3: BDAT chunks and BURL parts in any order; the section is FETCH BODY[1] (the body)
      String url = generate(c, rump(ALICE, "drafts2", uid, "/;SECTION=1", "submit+" + ALICE));
      String head = "From: alice@burl.test\r\nTo: bob@burl.test\r\nSubject: cover\r\n"
          + "Date: Fri, 4 Dec 2026 09:01:00 +0000\r\nMessage-ID: <cover@burl.test>\r\n\r\nQuoted:\r\n";
      String tail = "-- \r\nalice\r\n";
      int before = inbox(BOB).size();
      s.send("MAIL FROM:<" + ALICE + ">");
      Submitter.expect(s.read(), "250");
      s.send("RCPT TO:<" + BOB + ">");
      Submitter.expect(s.read(), "250");
      s.raw(("BDAT " + head.length() + "\r\n" + head).getBytes(StandardCharsets.US_ASCII));
      assertThat(s.read()).startsWith("250 ");
      s.send("BURL " + url);
      assertThat(s.read()).isEqualTo("250 2.5.0 Waiting for additional BURL or BDAT commands");
      s.raw(("BDAT " + tail.length() + " LAST\r\n" + tail).getBytes(StandardCharsets.US_ASCII));
      assertThat(s.read()).startsWith("250 2.0.0 OK queued as ");
      List<byte[]> after = inbox(BOB);
      assertThat(after).hasSize(before + 1);
      String body = "the draft's body\r\nwith \u00e9 in UTF-8\r\n";
      assertTraceThen(after.getLast(), (head + body + tail).getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void whatTheUrlDoesNotAllowIsRefusedAndNothingIsDelivered() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login(ALICE, "alice-pw");
        ImapClient b = new ImapClient(server.port("imap")).login(BOB, "bob-pw")) {
      long[] uid = append(c, "drafts3", DRAFT);
      String good = generate(c, rump(ALICE, "drafts3", uid, "", "submit+" + ALICE));
      int before = inbox(BOB).size();

      // a tampered token
      String last = good.substring(good.length() - 1);
      String tampered = good.substring(0, good.length() - 1) + (last.equals("0") ? "1" : "0");
      assertThat(refused(tampered)).isEqualTo("554 5.7.0 IMAP URL authorization failed");
      // another UIDVALIDITY: GENURLAUTH refuses it, and a URL edited to it no longer verifies
      long[] other = {uid[0] + 1, uid[1]};
      assertThat(c.cmd("GENURLAUTH \"" + rump(ALICE, "drafts3", other, "", "submit+" + ALICE) + "\" INTERNAL")
          .getLast()).startsWith("t").contains(" NO GENURLAUTH refused: no such mailbox or UIDVALIDITY");
      assertThat(refused(good.replace(";UIDVALIDITY=" + uid[0], ";UIDVALIDITY=" + other[0])))
          .isEqualTo("554 5.7.0 IMAP URL authorization failed");
      // an expired URL (RFC 4467 §2.3.2), and one whose token was made for a later expiry
      String expired = generate(c, rump(ALICE, "drafts3", uid, ";EXPIRE=2020-01-01T00:00:00Z", "submit+" + ALICE));
      assertThat(refused(expired)).isEqualTo("554 5.7.0 IMAP URL authorization failed");
      assertThat(refused(expired.replace("2020-01-01", "2999-01-01")))
          .isEqualTo("554 5.7.0 IMAP URL authorization failed");
      // another user's mailbox: bob's URL for his own submission, and alice's URL edited to name bob's mailbox
      long[] bobs = append(b, "bobdrafts", DRAFT.replace("From: alice", "From: bob"));
      String bobUrl = generate(b, rump(BOB, "bobdrafts", bobs, "", "submit+" + BOB));
      assertThat(refused(bobUrl)).isEqualTo("554 5.7.0 IMAP URL authorization failed");
      assertThat(refused(good.replace("imap://alice", "imap://bob").replace("drafts3", "bobdrafts")))
          .isEqualTo("554 5.7.0 IMAP URL authorization failed");
      assertThat(c.cmd("GENURLAUTH \"" + rump(BOB, "bobdrafts", bobs, "", "submit+" + ALICE) + "\" INTERNAL")
          .getLast()).contains(" NO GENURLAUTH refused: the URL names another user's mailbox");
      // a "user+" URL is not one for submission
      String userUrl = generate(c, rump(ALICE, "drafts3", uid, "", "user+" + ALICE));
      assertThat(refused(userUrl)).isEqualTo("554 5.7.0 IMAP URL authorization failed");
      // a message that is not there (RFC 4468 §6: the URL does not resolve)
      String gone = generate(c, rump(ALICE, "drafts3", new long[] {uid[0], uid[1] + 50}, "", "submit+" + ALICE));
      assertThat(refused(gone)).isEqualTo("554 5.6.6 IMAP URL resolution failed");
      // another server's URL: a trust relationship would be needed
      assertThat(refused(good.replace("@" + server.config().hostname() + "/", "@imap.elsewhere.test/")))
          .isEqualTo("554 5.7.14 URL resolution requires trust relationship");
      // not a URL: too long, or not IMAP
      assertThat(refused("imap://" + "x".repeat(1900))).isEqualTo("554 5.6.6 IMAP URL resolution failed");
      assertThat(refused("https://example.test/x")).isEqualTo("554 5.6.6 IMAP URL resolution failed");
      assertThat(inbox(BOB)).hasSize(before);
      assertThat(refused(good)).startsWith("250 2.0.0 OK queued as "); // the good one still works
    }
  }

  @Test
  void burlIsOfferedOnSubmissionAfterAuthOnly() throws Exception {
    try (Submitter mx = new Submitter("127.0.0.1", server.port("smtp"))) {
      mx.send("EHLO client.test");
      List<String> ehlo = new java.util.ArrayList<>();
      String l;
      do {
        l = mx.read();
        ehlo.add(l);
      } while (l.startsWith("250-"));
      assertThat(ehlo).noneMatch(x -> x.contains("BURL"));
      mx.send("BURL imap://x@mx.test/INBOX/;UID=1;URLAUTH=submit+x:INTERNAL:" + "0".repeat(64) + " LAST");
      assertThat(mx.read()).isEqualTo("503 5.5.1 BURL is not offered on this port; use submission (587 or 465)");
    }
    try (Submitter sub = new Submitter("127.0.0.1", server.port("submission"))) {
      sub.startTls();
      sub.send("EHLO client.test");
      List<String> ehlo = new java.util.ArrayList<>();
      String l;
      do {
        l = sub.read();
        ehlo.add(l);
      } while (l.startsWith("250-"));
      assertThat(ehlo).noneMatch(x -> x.contains("BURL"));
      sub.send("BURL imap://x@mx.test/INBOX/;UID=1;URLAUTH=submit+x:INTERNAL:" + "0".repeat(64) + " LAST");
      assertThat(sub.read()).isEqualTo("530 5.7.0 Authentication required");
      Submitter.expect(sub.auth(ALICE, "alice-pw"), "235");
      sub.send("EHLO client.test");
      ehlo.clear();
      do {
        l = sub.read();
        ehlo.add(l);
      } while (l.startsWith("250-"));
      assertThat(ehlo).contains("250-BURL imap");
      // RFC 4468 §3.2: a BURL needs MAIL and RCPT first
      sub.send("BURL imap://x@mx.test/INBOX/;UID=1;URLAUTH=submit+x:INTERNAL:" + "0".repeat(64) + " LAST");
      assertThat(sub.read()).startsWith("503 ");
    }
  }

  @Test
  void urlfetchReturnsThePartAndResetkeyInvalidatesEarlierUrls() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login(ALICE, "alice-pw");
        Submitter s = new Submitter(server.port("submission"), ALICE, "alice-pw")) {
      assertThat(c.cmd("CAPABILITY").getFirst()).contains(" URLAUTH ");
      long[] uid = append(c, "drafts4", DRAFT);
      String part = generate(c, rump(ALICE, "drafts4", uid, "/;SECTION=1", "user+" + ALICE));
      String header = generate(c, rump(ALICE, "drafts4", uid, "/;SECTION=HEADER", "user+" + ALICE));
      String submit = generate(c, rump(ALICE, "drafts4", uid, "", "submit+" + ALICE));
      List<String> r = c.cmd("URLFETCH \"" + part + "\" \"" + header + "\" \"" + submit + "\"");
      String all = String.join("\n", r);
      int bodyBytes = "the draft's body\r\nwith \u00e9 in UTF-8\r\n".getBytes(StandardCharsets.UTF_8).length;
      assertThat(all).contains("* URLFETCH \"" + part + "\" {" + bodyBytes + "}\nthe draft's body\nwith ");
      assertThat(all).contains("* URLFETCH \"" + header + "\" {"
          + DRAFT.substring(0, DRAFT.indexOf("\r\n\r\n") + 4).length() + "}\nFrom: alice");
      assertThat(all).contains("* URLFETCH \"" + submit + "\" NIL"); // submit+ is not this IMAP session's access
      assertThat(r.getLast()).contains("OK URLFETCH completed");
      // the access identifier names alice: bob's session gets NIL for it
      try (ImapClient b = new ImapClient(server.port("imap")).login(BOB, "bob-pw")) {
        assertThat(b.cmd("URLFETCH \"" + part + "\"").getFirst()).isEqualTo("* URLFETCH \"" + part + "\" NIL");
      }

      assertThat(c.cmd("RESETKEY drafts4 INTERNAL").getLast()).contains("OK [URLMECH INTERNAL] Key reset");
      assertThat(c.cmd("URLFETCH \"" + part + "\"").getFirst()).isEqualTo("* URLFETCH \"" + part + "\" NIL");
      int before = inbox(BOB).size();
      assertThat(burl(s, submit)).isEqualTo("554 5.7.0 IMAP URL authorization failed");
      assertThat(inbox(BOB)).hasSize(before);
      // a URL made after the reset works; RESETKEY without a mailbox resets every key of the user
      String fresh = generate(c, rump(ALICE, "drafts4", uid, "/;SECTION=1", "user+" + ALICE));
      assertThat(fresh).isNotEqualTo(part);
      assertThat(c.cmd("URLFETCH \"" + fresh + "\"").getFirst()).startsWith("* URLFETCH \"" + fresh + "\" {");
      assertThat(c.cmd("RESETKEY").getLast()).contains("OK All keys removed");
      assertThat(c.cmd("URLFETCH \"" + fresh + "\"").getFirst()).isEqualTo("* URLFETCH \"" + fresh + "\" NIL");
      assertThat(c.cmd("RESETKEY nosuchbox").getLast()).contains("NO [NONEXISTENT]");
      assertThat(c.cmd("RESETKEY drafts4 XSAMPLE").getLast()).contains(" NO ");
      String tooLong = "imap://alice%40burl.test@mx.test/drafts4/;UID=1;URLAUTH=user+" + "a".repeat(3000);
      assertThat(String.join("\n", c.cmd("URLFETCH \"" + tooLong + "\"")))
          .matches("(?s)\\* URLFETCH \\{3\\d+}\nimap://[^\n]*aaa NIL\n[^\n]* OK URLFETCH completed");
    }
  }

  /** The first literal of a response (ASCII messages: one character a byte), or null when it has none. */
  static String literal(List<String> response) {
    String all = String.join("\r\n", response);
    Matcher m = Pattern.compile("\\{(\\d+)}\r\n").matcher(all);
    return m.find() ? all.substring(m.end(), m.end() + Integer.parseInt(m.group(1))) : null;
  }

  static final String NESTED = "From: alice@burl.test\r\nTo: bob@burl.test\r\nSubject: sections\r\n"
      + "Date: Fri, 4 Dec 2026 09:02:00 +0000\r\nMessage-ID: <sections@burl.test>\r\nMIME-Version: 1.0\r\n"
      + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
      + "--b1\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n"
      + "--b1\r\nContent-Type: message/rfc822\r\n\r\n"
      + "From: carol@x.test\r\nSubject: inner\r\nTo: dave@x.test\r\n\r\ninner body\r\n\r\n"
      + "--b1--\r\n"; // the CRLF before a boundary is the boundary's (RFC 2046 §5.1.1): the inner body ends in one

  @Test
  void selectAndExamineAnnounceTheUrlauthMechanism() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login(ALICE, "alice-pw")) {
      // RFC 4467 §7.1: URLMECH with the mailbox's mechanisms when it is selected
      for (String cmd : List.of("SELECT INBOX", "EXAMINE INBOX")) {
        List<String> r = c.cmd(cmd);
        assertThat(r).as(cmd).contains("* OK [URLMECH INTERNAL] URLAUTH mechanisms");
        assertThat(r.indexOf("* OK [URLMECH INTERNAL] URLAUTH mechanisms")).isLessThan(r.size() - 1);
        assertThat(r.getLast()).contains(" OK [READ-");
      }
    }
  }

  @Test
  void authuserAndAnonymousUrlsServeAnyLoggedInUserAndUserUrlsOnlyTheirUser() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login(ALICE, "alice-pw");
        ImapClient b = new ImapClient(server.port("imap")).login(BOB, "bob-pw");
        Submitter bs = new Submitter(server.port("submission"), BOB, "bob-pw")) {
      long[] uid = append(c, "shared1", DRAFT);
      // RFC 4467 §2.3.3: "authuser" is any session logged in as a user; "anonymous" any session at all
      String auth = generate(c, rump(ALICE, "shared1", uid, "/;SECTION=HEADER", "authuser"));
      String anon = generate(c, rump(ALICE, "shared1", uid, "/;SECTION=TEXT", "anonymous"));
      String forBob = generate(c, rump(ALICE, "shared1", uid, "/;SECTION=TEXT", "user+" + BOB));
      String forAlice = generate(c, rump(ALICE, "shared1", uid, "/;SECTION=TEXT", "user+" + ALICE));
      String header = DRAFT.substring(0, DRAFT.indexOf("\r\n\r\n") + 4);
      String text = DRAFT.substring(DRAFT.indexOf("\r\n\r\n") + 4);
      int textBytes = text.getBytes(StandardCharsets.UTF_8).length;
      assertThat(literal(b.cmd("URLFETCH \"" + auth + "\""))).isEqualTo(header);
      assertThat(String.join("\n", b.cmd("URLFETCH \"" + anon + "\""))).contains("{" + textBytes + "}\nthe draft");
      assertThat(String.join("\n", b.cmd("URLFETCH \"" + forBob + "\""))).contains("{" + textBytes + "}\nthe draft");
      assertThat(b.cmd("URLFETCH \"" + forAlice + "\"").getFirst()).isEqualTo("* URLFETCH \"" + forAlice + "\" NIL");
      assertThat(literal(c.cmd("URLFETCH \"" + auth + "\""))).isEqualTo(header);
      assertThat(c.cmd("URLFETCH \"" + forBob + "\"").getFirst()).isEqualTo("* URLFETCH \"" + forBob + "\" NIL");
      // the access identifier is signed: edited from user+bob to authuser, the token no longer verifies
      String edited = forBob.replace("URLAUTH=user+bob%40burl.test", "URLAUTH=authuser");
      assertThat(edited).isNotEqualTo(forBob);
      assertThat(b.cmd("URLFETCH \"" + edited + "\"").getFirst()).isEqualTo("* URLFETCH \"" + edited + "\" NIL");
      // BURL (RFC 4468): the submission server acts for a logged-in user, so "authuser" and "anonymous" resolve
      // for bob; alice's "user+" URL does not
      // (bob may send only what is From him: a message of alice's written for bob to send)
      String bobsDraft = DRAFT.replace("From: alice@burl.test", "From: bob@burl.test");
      String whole = generate(c, rump(ALICE, "shared1", append(c, "shared1", bobsDraft), "", "authuser"));
      int before = inbox(BOB).size();
      bs.send("MAIL FROM:<" + BOB + ">");
      Submitter.expect(bs.read(), "250");
      bs.send("RCPT TO:<" + BOB + ">");
      Submitter.expect(bs.read(), "250");
      bs.send("BURL " + whole + " LAST");
      assertThat(bs.read()).startsWith("250 2.0.0 OK queued as ");
      assertTraceThen(inbox(BOB).getLast(), bobsDraft.getBytes(StandardCharsets.UTF_8));
      assertThat(inbox(BOB)).hasSize(before + 1);
      bs.send("MAIL FROM:<" + BOB + ">");
      Submitter.expect(bs.read(), "250");
      bs.send("RCPT TO:<" + BOB + ">");
      Submitter.expect(bs.read(), "250");
      bs.send("BURL " + forAlice + " LAST");
      assertThat(bs.read()).isEqualTo("554 5.7.0 IMAP URL authorization failed");
    }
  }

  @Test
  void headerFieldsMimeAndPartialUrlsReturnWhatFetchReturns() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login(ALICE, "alice-pw")) {
      long[] uid = append(c, "sections1", NESTED);
      c.cmd("EXAMINE sections1");
      // RFC 5092 §3: each URL names BODY[section]<partial> of the message: URLFETCH returns the bytes FETCH does
      String[][] cases = {
          {"/;SECTION=HEADER.FIELDS%20(Subject%20To)", "HEADER.FIELDS (Subject To)", ""},
          {"/;SECTION=HEADER.FIELDS.NOT%20(Subject%20Content-Type)", "HEADER.FIELDS.NOT (Subject Content-Type)", ""},
          {"/;SECTION=1.MIME", "1.MIME", ""},
          {"/;SECTION=2.MIME", "2.MIME", ""},
          {"/;SECTION=2.HEADER", "2.HEADER", ""},
          {"/;SECTION=2.TEXT", "2.TEXT", ""},
          {"/;SECTION=2.HEADER.FIELDS%20(SUBJECT)", "2.HEADER.FIELDS (SUBJECT)", ""},
          {"/;SECTION=2", "2", ""},
          {"/;SECTION=1/;PARTIAL=0.5", "1", "<0.5>"},
          {"/;SECTION=TEXT/;PARTIAL=4.12", "TEXT", "<4.12>"},
          {"/;PARTIAL=6.20", "", "<6.20>"},
          {"/;SECTION=HEADER.FIELDS%20(From)/;PARTIAL=6", "HEADER.FIELDS (From)", "<6.1000>"},
      };
      for (String[] k : cases) {
        String url = generate(c, rump(ALICE, "sections1", uid, k[0], "user+" + ALICE));
        String fetched = literal(c.cmd("URLFETCH \"" + url + "\""));
        String expected = literal(c.cmd("UID FETCH " + uid[1] + " BODY.PEEK[" + k[1] + "]" + k[2]));
        assertThat(fetched).as(k[0]).isNotNull().isEqualTo(expected);
      }
      String h = literal(c.cmd("URLFETCH \"" + generate(c, rump(ALICE, "sections1", uid,
          "/;SECTION=HEADER.FIELDS%20(Subject%20To)", "user+" + ALICE)) + "\""));
      assertThat(h).isEqualTo("To: bob@burl.test\r\nSubject: sections\r\n\r\n");
      String inner = literal(c.cmd("URLFETCH \"" + generate(c, rump(ALICE, "sections1", uid,
          "/;SECTION=2.HEADER.FIELDS%20(SUBJECT)", "user+" + ALICE)) + "\""));
      assertThat(inner).isEqualTo("Subject: inner\r\n\r\n");
      // a range past the end is the empty string (RFC 3501 §6.4.5); a part that is not there is NIL
      String past = generate(c, rump(ALICE, "sections1", uid, "/;SECTION=1/;PARTIAL=500.10", "user+" + ALICE));
      assertThat(c.cmd("URLFETCH \"" + past + "\"").getFirst()).isEqualTo("* URLFETCH \"" + past + "\" {0}");
      String none = generate(c, rump(ALICE, "sections1", uid, "/;SECTION=3.MIME", "user+" + ALICE));
      assertThat(c.cmd("URLFETCH \"" + none + "\"").getFirst()).isEqualTo("* URLFETCH \"" + none + "\" NIL");
      // the range is signed: a URL edited to another range does not verify
      String ranged = generate(c, rump(ALICE, "sections1", uid, "/;SECTION=1/;PARTIAL=0.5", "user+" + ALICE));
      String wider = ranged.replace(";PARTIAL=0.5", ";PARTIAL=0.50");
      assertThat(c.cmd("URLFETCH \"" + wider + "\"").getFirst()).isEqualTo("* URLFETCH \"" + wider + "\" NIL");
    }
  }

  @Test
  void burlAssemblesHeaderFieldsAndSectionsOfADraft() throws Exception {
    try (ImapClient c = new ImapClient(server.port("imap")).login(ALICE, "alice-pw");
        Submitter s = new Submitter(server.port("submission"), ALICE, "alice-pw")) {
      long[] uid = append(c, "sections2", NESTED);
      String head = generate(c, rump(ALICE, "sections2", uid,
          "/;SECTION=HEADER.FIELDS%20(From%20To%20Subject%20Date%20Message-ID)", "submit+" + ALICE));
      String body = generate(c, rump(ALICE, "sections2", uid, "/;SECTION=2.TEXT", "submit+" + ALICE));
      int before = inbox(BOB).size();
      s.send("MAIL FROM:<" + ALICE + ">");
      Submitter.expect(s.read(), "250");
      s.send("RCPT TO:<" + BOB + ">");
      Submitter.expect(s.read(), "250");
      s.send("BURL " + head);
      assertThat(s.read()).isEqualTo("250 2.5.0 Waiting for additional BURL or BDAT commands");
      s.send("BURL " + body + " LAST");
      assertThat(s.read()).startsWith("250 2.0.0 OK queued as ");
      List<byte[]> after = inbox(BOB);
      assertThat(after).hasSize(before + 1);
      assertTraceThen(after.getLast(), ("From: alice@burl.test\r\nTo: bob@burl.test\r\nSubject: sections\r\n"
          + "Date: Fri, 4 Dec 2026 09:02:00 +0000\r\nMessage-ID: <sections@burl.test>\r\n\r\ninner body\r\n")
          .getBytes(StandardCharsets.US_ASCII));
    }
  }

  @Test
  void burlPartsAreBoundedInNumberAndTotalSize() throws Exception {
    try (TestServer small = TestServer.start(c -> c.withSmtp(new SmtpConfig(2048L, 5, 4096, 30, 3600, 5, 5)))) {
      small.addUser(ALICE, "alice-pw");
      small.addUser(BOB, "bob-pw");
      String big = DRAFT + "x".repeat(1200) + "\r\n";
      try (ImapClient c = new ImapClient(small.port("imap")).login(ALICE, "alice-pw");
          Submitter s = new Submitter(small.port("submission"), ALICE, "alice-pw")) {
        long[] uid = append(c, "drafts5", big);
        String host = small.config().hostname();
        String base = "imap://alice%40burl.test@" + host + "/drafts5;UIDVALIDITY=" + uid[0] + "/;UID=" + uid[1];
        String whole = generateOn(c, base + ";URLAUTH=submit+alice%40burl.test");
        long[] tiny = append(c, "drafts5", "Subject: a\r\n\r\nb\r\n");
        String text = generateOn(c, "imap://alice%40burl.test@" + host + "/drafts5;UIDVALIDITY=" + tiny[0]
            + "/;UID=" + tiny[1] + "/;SECTION=TEXT;URLAUTH=submit+alice%40burl.test");
        // the message-size limit counts every part: the second copy would pass 2,048 bytes
        s.send("MAIL FROM:<" + ALICE + ">");
        Submitter.expect(s.read(), "250");
        s.send("RCPT TO:<" + BOB + ">");
        Submitter.expect(s.read(), "250");
        s.send("BURL " + whole);
        assertThat(s.read()).isEqualTo("250 2.5.0 Waiting for additional BURL or BDAT commands");
        s.send("BURL " + whole + " LAST");
        assertThat(s.read()).isEqualTo("552 5.3.4 Message size exceeds fixed maximum message size");
        // at most 100 parts in one message
        s.send("MAIL FROM:<" + ALICE + ">");
        Submitter.expect(s.read(), "250");
        s.send("RCPT TO:<" + BOB + ">");
        Submitter.expect(s.read(), "250");
        for (int i = 0; i < 100; i++) {
          s.send("BURL " + text);
        }
        for (int i = 0; i < 100; i++) {
          assertThat(s.read()).as("part " + i).startsWith("250 2.5.0");
        }
        s.send("BURL " + text + " LAST");
        assertThat(s.read()).isEqualTo("554 5.5.3 Too many BURL parts in one message");
      }
      small.services().mail().awaitIntake();
      long bob = small.services().directory().account(BOB).orElseThrow().id();
      long inbox = small.services().mail().mailbox(bob, "INBOX").orElseThrow().id();
      assertThat(small.services().mail().messages(inbox)).isEmpty();
    }
  }

  private static String generateOn(ImapClient c, String rump) throws IOException {
    List<String> r = c.cmd("GENURLAUTH \"" + rump + "\" INTERNAL");
    assertThat(r.getLast()).contains("OK GENURLAUTH completed");
    return r.getFirst().substring("* GENURLAUTH \"".length(), r.getFirst().length() - 1);
  }
}
