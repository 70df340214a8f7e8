package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import org.darwinmail.store.ViewBudget;
import org.darwinmail.testing.SharedServer;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IMAP behaviour that needs more than one connection or a look at the store: two sessions on one mailbox
 * (RFC 3501 §7.4.1, §5.2), IDLE wake-up, UIDs across restarts, QRESYNC with the real UIDVALIDITY, quotas on APPEND,
 * COMPRESS=DEFLATE on the wire.
 */
class ImapSessionsTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = SharedServer.get();
    server.addUser("ann@sessions.test", "ann-pw");
    server.addUser("quota@sessions.test", "quota-pw");
    server.addUser("ownlimit@sessions.test", "ownlimit-pw");
  }

  @Test
  void twoSessionsSeeEachOthersChangesAtTheAllowedMoments() throws Exception {
    try (ImapClient a = new ImapClient(server.port("imap")).login("ann@sessions.test", "ann-pw");
        ImapClient b = new ImapClient(server.port("imap")).login("ann@sessions.test", "ann-pw")) {
      a.cmd("CREATE Shared");
      for (int i = 1; i <= 3; i++) {
        a.append("Shared", ImapClient.message("m" + i));
      }
      assertThat(a.cmd("SELECT Shared")).contains("* 3 EXISTS");
      assertThat(b.cmd("SELECT Shared")).contains("* 3 EXISTS");

      // A flags and expunges message 1; B is fetching: FETCH may carry flag changes but never EXPUNGE.
      a.cmd("STORE 1 +FLAGS (\\Deleted)");
      a.cmd("STORE 2 +FLAGS (\\Flagged)");
      assertThat(a.cmd("EXPUNGE")).contains("* 1 EXPUNGE");
      List<String> fetch = b.cmd("FETCH 1:3 (UID)");
      assertThat(fetch).noneMatch(l -> l.contains("EXPUNGE"));
      assertThat(fetch).contains("* 1 FETCH (UID 1)", "* 3 FETCH (UID 3)");
      assertThat(fetch).anyMatch(l -> l.startsWith("* 2 FETCH") && l.contains("\\Flagged"));
      // NOOP is an allowed moment: the EXPUNGE arrives, and numbers shift.
      List<String> noop = b.cmd("NOOP");
      assertThat(noop).contains("* 1 EXPUNGE");
      assertThat(b.cmd("FETCH 1 (UID)")).contains("* 1 FETCH (UID 2)");

      // B idles; A appends, flags, expunges: B hears each without asking.
      b.c.send("i1 IDLE");
      assertThat(b.c.read()).isEqualTo("+ idling");
      a.append("Shared", ImapClient.message("m4"));
      assertThat(b.c.read()).isEqualTo("* 3 EXISTS");
      // \Recent in exactly one session (RFC 3501 §2.3.2): B's wake-up or A's own APPEND takes it, whichever is first
      assertThat(b.c.read()).matches("\\* [01] RECENT");
      a.cmd("STORE 1 +FLAGS (\\Seen)");
      assertThat(b.c.read()).startsWith("* 1 FETCH (UID 2 FLAGS (\\Seen \\Flagged)");
      a.cmd("STORE 1 +FLAGS (\\Deleted)");
      assertThat(b.c.read()).startsWith("* 1 FETCH (UID 2 FLAGS (\\Seen \\Flagged \\Deleted)");
      a.cmd("EXPUNGE");
      assertThat(b.c.read()).isEqualTo("* 1 EXPUNGE");
      b.c.send("DONE");
      assertThat(b.c.read()).isEqualTo("i1 OK IDLE terminated");
      assertThat(b.cmd("SEARCH ALL")).contains("* SEARCH 1 2");
    }
  }

  /**
   * The selected mailboxes of all sessions share half of the heap ({@link ViewBudget}): a SELECT that would go past
   * it is refused with NO [LIMIT] (RFC 5530 §3), the session stays usable, and a SELECT succeeds once there is room.
   * Before, enough sessions selecting a large mailbox ended the server with an OutOfMemoryError.
   */
  @Test
  void aSelectPastTheSharedBudgetIsRefusedAndTheServerGoesOn() throws Exception {
    try (ImapClient a = new ImapClient(server.port("imap")).login("ann@sessions.test", "ann-pw")) {
      a.cmd("CREATE Budget");
      for (int i = 1; i <= 20; i++) {
        a.append("Budget", ImapClient.message("b" + i));
      }
      // Less room left than the view of 20 messages needs, whatever other sessions hold or give back meanwhile.
      long hold = ViewBudget.SHARED.limit() - 1000;
      ViewBudget.SHARED.force(hold);
      try {
        List<String> refused = a.cmd("SELECT Budget");
        assertThat(refused.getLast()).matches("t\\d+ NO \\[LIMIT\\] .*");
        assertThat(refused).noneMatch(l -> l.contains("EXISTS"));
        assertThat(a.cmd("FETCH 1 (UID)").getLast()).as("not selected").contains(" BAD ");
        assertThat(a.cmd("NOOP").getLast()).endsWith("OK NOOP completed");
      } finally {
        ViewBudget.SHARED.give(hold);
      }
      assertThat(a.cmd("SELECT Budget")).contains("* 20 EXISTS");
      assertThat(a.cmd("FETCH 20 (UID)")).contains("* 20 FETCH (UID 20)");
    }
  }

  /**
   * RFC 9051 §7.5.1 (RFC 3501 §7.4.1): "An EXPUNGE response MUST NOT be sent when no command is in progress, nor
   * while responding to a FETCH, STORE, or SEARCH command" (the message numbers the client sent would shift under
   * it). Another session expunges; this one's STORE and SEARCH answer with the old numbers and no EXPUNGE, and the
   * next NOOP carries it.
   */
  @Test
  void storeAndSearchNeverCarryAnotherSessionsExpunge() throws Exception {
    try (ImapClient a = new ImapClient(server.port("imap")).login("ann@sessions.test", "ann-pw");
        ImapClient b = new ImapClient(server.port("imap")).login("ann@sessions.test", "ann-pw")) {
      a.cmd("CREATE NoExpungeDuring");
      for (int i = 1; i <= 3; i++) {
        a.append("NoExpungeDuring", ImapClient.message("n" + i));
      }
      a.cmd("SELECT NoExpungeDuring");
      b.cmd("SELECT NoExpungeDuring");
      a.cmd("STORE 1 +FLAGS (\\Deleted)");
      assertThat(a.cmd("EXPUNGE")).contains("* 1 EXPUNGE");
      List<String> store = b.cmd("STORE 3 +FLAGS (\\Flagged)");
      assertThat(store).noneMatch(l -> l.contains("EXPUNGE"));
      assertThat(store).anyMatch(l -> l.startsWith("* 3 FETCH") && l.contains("\\Flagged"));
      List<String> search = b.cmd("SEARCH FLAGGED");
      assertThat(search).noneMatch(l -> l.contains("EXPUNGE"));
      assertThat(search).contains("* SEARCH 3");
      assertThat(b.cmd("NOOP")).contains("* 1 EXPUNGE");
      assertThat(b.cmd("SEARCH FLAGGED")).contains("* SEARCH 2");
    }
  }

  /**
   * \Recent (RFC 3501 §2.3.2): "If it is not possible to determine whether or not this session is the first session
   * to be notified about a message, then that message SHOULD be considered recent" ... "the message is considered
   * recent in exactly one session". Two sessions have the mailbox selected while 12 messages arrive and both look
   * for them at the same time: every message is \Recent in one of them and none in both. Before: neither session
   * had the messages stored before it selected as recent, and each had every later one.
   */
  @Test
  void eachNewMessageIsRecentInExactlyOneSession() throws Exception {
    server.addUser("recent@sessions.test", "recent-pw");
    try (ImapClient a = new ImapClient(server.port("imap")).login("recent@sessions.test", "recent-pw");
        ImapClient b = new ImapClient(server.port("imap")).login("recent@sessions.test", "recent-pw");
        ImapClient d = new ImapClient(server.port("imap")).login("recent@sessions.test", "recent-pw")) {
      d.cmd("CREATE Rec");
      d.append("Rec", ImapClient.message("before 1"));
      d.append("Rec", ImapClient.message("before 2"));
      assertThat(a.cmd("SELECT Rec")).contains("* 2 RECENT");
      assertThat(b.cmd("SELECT Rec")).contains("* 0 RECENT");
      java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
      try {
        List<java.util.concurrent.Future<?>> lookers = new java.util.ArrayList<>();
        for (ImapClient c : List.of(a, b)) {
          lookers.add(pool.submit(() -> {
            while (!done.get()) {
              c.cmd("NOOP");
            }
            return null;
          }));
        }
        for (int i = 1; i <= 12; i++) {
          d.append("Rec", ImapClient.message("new " + i));
        }
        done.set(true);
        for (var f : lookers) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      a.cmd("NOOP");
      b.cmd("NOOP");
      java.util.Set<String> inA = recentUids(a);
      java.util.Set<String> inB = recentUids(b);
      assertThat(inA).contains("1", "2");
      java.util.Set<String> both = new java.util.HashSet<>(inA);
      both.retainAll(inB);
      assertThat(both).as("recent in both sessions").isEmpty();
      java.util.Set<String> union = new java.util.TreeSet<>(inA);
      union.addAll(inB);
      assertThat(union).hasSize(14);
      // a third session and STATUS find nothing recent any more; EXAMINE never takes
      assertThat(d.cmd("STATUS Rec (RECENT MESSAGES)")).contains("* STATUS \"Rec\" (RECENT 0 MESSAGES 14)");
      assertThat(d.cmd("SELECT Rec")).contains("* 0 RECENT");
    }
  }

  /**
   * A keyword set for the first time by one session is announced to every session that has the mailbox selected
   * (RFC 3501 §7.2.6): FLAGS and PERMANENTFLAGS come before the FETCH that carries it. Before: the FETCH alone.
   */
  @Test
  void aNewKeywordIsAnnouncedToTheOtherSessionBeforeItsFetch() throws Exception {
    server.addUser("kw@sessions.test", "kw-pw");
    try (ImapClient a = new ImapClient(server.port("imap")).login("kw@sessions.test", "kw-pw");
        ImapClient b = new ImapClient(server.port("imap")).login("kw@sessions.test", "kw-pw")) {
      a.cmd("CREATE K");
      a.append("K", ImapClient.message("k1"));
      a.cmd("SELECT K");
      b.cmd("SELECT K");
      a.cmd("STORE 1 +FLAGS ($Project)");
      List<String> noop = b.cmd("NOOP");
      int flags = noop.indexOf("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Project)");
      int permanent = noop.indexOf("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Project \\*)]"
          + " Flags permitted");
      int fetch = -1;
      for (int i = 0; i < noop.size(); i++) {
        if (noop.get(i).startsWith("* 1 FETCH") && noop.get(i).contains("$Project")) {
          fetch = i;
        }
      }
      assertThat(flags).as("FLAGS in %s", noop).isGreaterThanOrEqualTo(0);
      assertThat(permanent).as("PERMANENTFLAGS in %s", noop).isGreaterThan(flags);
      assertThat(fetch).as("FETCH in %s", noop).isGreaterThan(permanent);
      assertThat(b.cmd("STORE 1 +FLAGS ($project)")).noneMatch(l -> l.startsWith("* FLAGS"));
    }
  }

  private static java.util.Set<String> recentUids(ImapClient c) throws java.io.IOException {
    String line = c.cmd("UID SEARCH RECENT").stream().filter(l -> l.startsWith("* SEARCH")).findFirst().orElseThrow();
    java.util.Set<String> out = new java.util.HashSet<>(List.of(line.substring("* SEARCH".length()).trim()
        .split(" ")));
    out.remove("");
    return out;
  }

  /**
   * RFC 5267 §4.3 (CONTEXT=SEARCH / CONTEXT=SORT): a search kept up to date hears another session's changes while
   * in IDLE, ADDTO after the EXISTS of new mail (§4.3.3), REMOVEFROM for a flag change, and REMOVEFROM before the
   * EXPUNGE of a message it held (§4.3.4); a SORT context gets positions in its order.
   */
  @Test
  void searchUpdatesFollowAnotherSessionsChanges() throws Exception {
    try (ImapClient a = new ImapClient(server.port("imap")).login("ann@sessions.test", "ann-pw");
        ImapClient b = new ImapClient(server.port("imap")).login("ann@sessions.test", "ann-pw")) {
      a.cmd("CREATE Ctx");
      a.append("Ctx", ImapClient.message("c"));
      a.append("Ctx", ImapClient.message("a"));
      a.cmd("SELECT Ctx");
      b.cmd("ENABLE IMAP4rev2"); // no RECENT lines between the updates
      b.cmd("SELECT Ctx");
      b.c.send("u1 SEARCH RETURN (UPDATE COUNT) UNSEEN");
      assertThat(b.until("u1 ")).containsExactly("* ESEARCH (TAG \"u1\") COUNT 2", "u1 OK SEARCH completed");
      b.c.send("u2 UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNSEEN");
      assertThat(b.until("u2 ")).containsExactly("* ESEARCH (TAG \"u2\") UID ALL 2,1", "u2 OK SORT completed");
      b.c.send("i1 IDLE");
      assertThat(b.c.read()).isEqualTo("+ idling");
      a.append("Ctx", ImapClient.message("b"));
      assertThat(b.c.read()).isEqualTo("* 3 EXISTS");
      assertThat(b.c.read()).isEqualTo("* ESEARCH (TAG \"u1\") ADDTO (0 3)");
      assertThat(b.c.read()).isEqualTo("* ESEARCH (TAG \"u2\") UID ADDTO (2 3)"); // a, b, c
      a.cmd("STORE 2 +FLAGS (\\Seen)");
      assertThat(b.c.read()).startsWith("* 2 FETCH (UID 2 FLAGS (\\Seen)");
      assertThat(b.c.read()).isEqualTo("* ESEARCH (TAG \"u1\") REMOVEFROM (0 2)");
      assertThat(b.c.read()).isEqualTo("* ESEARCH (TAG \"u2\") UID REMOVEFROM (1 2)");
      a.cmd("STORE 1 +FLAGS (\\Deleted)");
      a.cmd("EXPUNGE");
      List<String> lines = new java.util.ArrayList<>();
      do {
        lines.add(b.c.read());
      } while (!lines.get(lines.size() - 1).equals("* 1 EXPUNGE"));
      assertThat(lines).containsSubsequence("* ESEARCH (TAG \"u1\") REMOVEFROM (0 1)",
          "* ESEARCH (TAG \"u2\") UID REMOVEFROM (2 1)", "* 1 EXPUNGE");
      b.c.send("DONE");
      assertThat(b.c.read()).isEqualTo("i1 OK IDLE terminated");
      assertThat(b.cmd("SEARCH RETURN (ALL) UNSEEN")).contains("* ESEARCH (TAG \"t4\") ALL 2");
    }
  }

  @Test
  void idleHearsNewMailWithinASecond() throws Exception {
    try (ImapClient a = new ImapClient(server.port("imap")).login("ann@sessions.test", "ann-pw")) {
      a.cmd("CREATE Fast");
      a.cmd("SELECT Fast");
      a.c.send("i1 IDLE");
      assertThat(a.c.read()).isEqualTo("+ idling");
      var box = server.services().mail().mailbox(
          server.services().directory().account("ann@sessions.test").orElseThrow().id(), "Fast").orElseThrow();
      var blobs = server.services().blobs();
      var w = blobs.create();
      w.write(ImapClient.message("fast").getBytes(StandardCharsets.US_ASCII));
      var ref = w.commit();
      a.c.setTimeout(1000); // the user notices within a second
      server.services().mail().deliver(List.of(box.id()), ref, java.time.Instant.now());
      assertThat(a.c.read()).isEqualTo("* 1 EXISTS");
      assertThat(a.c.read()).isEqualTo("* 1 RECENT");
      a.c.setTimeout(10_000);
      a.c.send("DONE");
      assertThat(a.c.read()).isEqualTo("i1 OK IDLE terminated");
    }
  }

  @Test
  void qresyncSelectReportsVanishedAndChangedSinceTheClientsModseq() throws Exception {
    try (ImapClient a = new ImapClient(server.port("imap")).login("ann@sessions.test", "ann-pw")) {
      a.cmd("CREATE Sync");
      for (int i = 1; i <= 4; i++) {
        a.append("Sync", ImapClient.message("s" + i));
      }
      a.cmd("ENABLE QRESYNC");
      List<String> sel = a.cmd("SELECT Sync");
      String validity = sel.stream().filter(l -> l.contains("UIDVALIDITY")).findFirst().orElseThrow()
          .replaceAll("\\D", "");
      String modseq = sel.stream().filter(l -> l.contains("HIGHESTMODSEQ")).findFirst().orElseThrow()
          .replaceAll("\\D", "");
      a.cmd("STORE 2 +FLAGS (\\Answered)");
      a.cmd("STORE 3 +FLAGS (\\Deleted)");
      assertThat(a.cmd("EXPUNGE")).contains("* VANISHED 3");
      a.cmd("UNSELECT");
      List<String> re = a.cmd("SELECT Sync (QRESYNC (" + validity + " " + modseq + " 1:4))");
      assertThat(re).contains("* VANISHED (EARLIER) 3");
      assertThat(re).anyMatch(l -> l.matches("\\* 2 FETCH \\(UID 2 FLAGS \\(\\\\Answered\\) MODSEQ \\(\\d+\\)\\)"));
      assertThat(re).noneMatch(l -> l.contains("UID 1 ") || l.contains("UID 4 "));
      List<String> vanished = a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + modseq + " VANISHED)");
      assertThat(vanished).contains("* VANISHED (EARLIER) 3");
    }
  }

  @Test
  void uidsAreNeverReusedAcrossExpungeAndRestart() throws Exception {
    server.addUser("restart@sessions.test", "restart-pw");
    String validity;
    try (ImapClient a = new ImapClient(server.port("imap")).login("restart@sessions.test", "restart-pw")) {
      a.append("INBOX", ImapClient.message("r1"));
      a.append("INBOX", ImapClient.message("r2"));
      a.cmd("SELECT INBOX");
      a.cmd("STORE 2 +FLAGS (\\Deleted)");
      a.cmd("EXPUNGE");
      validity = a.cmd("STATUS INBOX (UIDVALIDITY)").get(0);
    }
    server.restart();
    try (ImapClient a = new ImapClient(server.port("imap")).login("restart@sessions.test", "restart-pw")) {
      assertThat(a.cmd("STATUS INBOX (UIDVALIDITY)").get(0)).isEqualTo(validity);
      a.append("INBOX", ImapClient.message("r3"));
      a.cmd("SELECT INBOX");
      assertThat(a.cmd("UID SEARCH ALL")).contains("* SEARCH 1 3");
    }
  }

  @Test
  void appendOverQuotaIsRefusedAndGetQuotaRootReportsUsage() throws Exception {
    server.services().directory().setQuota("quota@sessions.test", 2048);
    try (ImapClient a = new ImapClient(server.port("imap")).login("quota@sessions.test", "quota-pw")) {
      a.append("INBOX", ImapClient.message("small"));
      List<String> q = a.cmd("GETQUOTAROOT INBOX");
      assertThat(q).contains("* QUOTAROOT \"INBOX\" \"\"", "* QUOTA \"\" (STORAGE 1 2)");
      String big = "Subject: big\r\n\r\n" + "x".repeat(3000) + "\r\n";
      a.c.raw(("t9 APPEND INBOX {" + big.length() + "+}\r\n" + big + "\r\n").getBytes(StandardCharsets.US_ASCII));
      assertThat(a.until("t9 ")).contains("t9 NO [OVERQUOTA] Quota exceeded");
      assertThat(a.cmd("GETQUOTA \"\"")).contains("* QUOTA \"\" (STORAGE 1 2)");
      assertThat(a.cmd("STATUS INBOX (MESSAGES)")).contains("* STATUS \"INBOX\" (MESSAGES 1)");
    }
  }

  /**
   * RFC 9208 §4.1.3 (QUOTASET): the limit a user sets for themselves with SETQUOTA holds for delivery too (SMTP RCPT
   * with a SIZE above it: 452 4.2.2), and the administrator's quota stays as it was set.
   */
  @Test
  void theUsersOwnLimitHoldsForDeliveryAndLeavesTheAdministratorsQuota() throws Exception {
    server.services().directory().setQuota("ownlimit@sessions.test", 1_048_576);
    try (ImapClient a = new ImapClient(server.port("imap")).login("ownlimit@sessions.test", "ownlimit-pw")) {
      assertThat(a.cmd("SETQUOTA \"\" (STORAGE 2)")).containsExactly("* QUOTA \"\" (STORAGE 0 2)",
          "t2 OK SETQUOTA completed");
    }
    try (org.darwinmail.testing.LineClient s = new org.darwinmail.testing.LineClient("127.0.0.1",
        server.port("smtp"))) {
      assertThat(s.read()).startsWith("220 ");
      s.send("EHLO client.example.net");
      String line;
      do {
        line = s.read();
      } while (line.startsWith("250-"));
      s.send("MAIL FROM:<someone@example.net> SIZE=5000");
      assertThat(s.read()).startsWith("250 ");
      s.send("RCPT TO:<ownlimit@sessions.test>");
      assertThat(s.read()).startsWith("452 4.2.2");
    }
    assertThat(server.services().directory().account("ownlimit@sessions.test").orElseThrow().quotaBytes())
        .isEqualTo(1_048_576);
  }

  @Test
  void compressDeflateCarriesTheSessionOn() throws Exception {
    try (Socket s = new Socket("127.0.0.1", server.port("imap"))) {
      s.setSoTimeout(10_000);
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      readLine(in);
      out.write("a LOGIN ann@sessions.test ann-pw\r\n".getBytes());
      while (!readLine(in).startsWith("a ")) { }
      out.write("b COMPRESS DEFLATE\r\n".getBytes());
      assertThat(readLine(in)).isEqualTo("b OK DEFLATE active");
      Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
      Inflater inf = new Inflater(true);
      d.setInput("c NOOP\r\nd COMPRESS DEFLATE\r\n".getBytes());
      byte[] buf = new byte[4096];
      int n = d.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
      out.write(buf, 0, n);
      out.flush();
      StringBuilder got = new StringBuilder();
      while (!got.toString().contains("d NO")) {
        int r = in.read(buf);
        assertThat(r).isPositive();
        inf.setInput(buf, 0, r);
        byte[] o = new byte[4096];
        int m;
        while ((m = inf.inflate(o)) > 0) {
          got.append(new String(o, 0, m, StandardCharsets.US_ASCII));
        }
      }
      assertThat(got.toString()).contains("c OK NOOP completed\r\n", "d NO [COMPRESSIONACTIVE] Already compressing");
    }
  }

  private static String readLine(InputStream in) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1 && c != '\n') {
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.US_ASCII);
  }
}
