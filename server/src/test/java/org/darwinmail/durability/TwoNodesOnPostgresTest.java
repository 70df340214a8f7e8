package org.darwinmail.durability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.darwinmail.testing.ClusterClients.ok;

import jakarta.mail.Folder;
import jakarta.mail.Message;
import jakarta.mail.Store;
import jakarta.mail.internet.MimeMessage;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.darwinmail.testing.ClusterClients;
import org.darwinmail.testing.ClusterNode;
import org.eclipse.angus.mail.imap.AppendUID;
import org.eclipse.angus.mail.imap.IMAPFolder;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes on one PostgreSQL database and one S3 bucket (issue 20; README, "Running on PostgreSQL"), each a server
 * process of its own on its own loopback address (127.0.0.2 and 127.0.0.3) with its own data directory: an account
 * made by node 1's CLI logs in on node 2; an address node 2 had found unknown is accepted there within seconds of
 * its account being made on node 1 (caches expire on a shared database); mail sent to node 1 is read over IMAP and
 * POP3 on node 2, byte for byte; APPENDs into one mailbox from both nodes at once get distinct UIDs, increasing on
 * each connection; and a message whose 250 came from node 1 is on node 2 although node 1 was SIGKILLed right after
 * that 250 (no local journal on PostgreSQL: the 250 follows the commit), small or large; an IDLE session (and a NOTIFY one) on node 2
 * hears of a delivery to node 1. Node 1 then restarts on the shared store and serves the same mail.
 */
@Tag("slow") // three cold server JVMs, PostgreSQL and S3Proxy: about a minute; `make test` (test-slow)
class TwoNodesOnPostgresTest {
  private static final String DOMAIN = "cluster.test";

  @TempDir
  Path dir;

  @Test
  void twoNodesShareOneDatabaseAndOneBucket() throws Exception {
    ClusterNode.Shared store = ClusterNode.Shared.create();
    ClusterNode n1 = ClusterNode.configure("node1", "127.0.0.2", dir, store);
    ClusterNode n2 = ClusterNode.configure("node2", "127.0.0.3", dir, store);
    try (n1; n2) {
      long t0 = System.nanoTime();
      n1.start().awaitListening(180);
      ok(n1.cli("", "domain", "add", DOMAIN));
      ok(n1.cli("alice-pw\n", "user", "add", "alice@" + DOMAIN, "--password-stdin"));
      n2.start().awaitListening(180);
      System.out.printf("two nodes listening after %d ms%n", (System.nanoTime() - t0) / 1_000_000);

      // An account made on node 1 logs in on node 2.
      try (Store imap = imap(n2, "alice")) {
        assertThat(imap.getFolder("INBOX").exists()).isTrue();
      }

      // Node 2 answers "unknown" for bob (and caches that), then node 1 makes bob: node 2 learns within seconds.
      assertThat(rcpt(n2, "bob@" + DOMAIN)).startsWith("550");
      ok(n1.cli("bob-pw\n", "user", "add", "bob@" + DOMAIN, "--password-stdin"));
      long made = System.nanoTime();
      String reply = rcpt(n2, "bob@" + DOMAIN);
      while (!reply.startsWith("250") && System.nanoTime() - made < 10_000_000_000L) {
        Thread.sleep(100);
        reply = rcpt(n2, "bob@" + DOMAIN);
      }
      assertThat(reply).as("node 2 accepts an account node 1 made (its cache expired)").startsWith("250");
      System.out.printf("node 2 accepted bob %d ms after node 1 made him%n", (System.nanoTime() - made) / 1_000_000);

      // SMTP into node 1, read on node 2 over IMAP and POP3, byte for byte (small: the old journal's path; large).
      String small = message("small-1", 20);
      String large = message("large-1", 3000); // over 64 KB
      try (Smtp smtp = new Smtp(n1)) {
        assertThat(smtp.send("alice@" + DOMAIN, small)).startsWith("250");
        assertThat(smtp.send("alice@" + DOMAIN, large)).startsWith("250");
      }
      assertThat(imapBodies(n2, "alice")).anyMatch(m -> m.endsWith(small)).anyMatch(m -> m.endsWith(large));
      assertThat(pop3Bodies(n2, "alice")).anyMatch(m -> m.endsWith(small)).anyMatch(m -> m.endsWith(large));

      // IDLE on node 2, mail into node 1: the session on node 2 hears of it (the cluster event channel, NOTIFY sent
      // in the delivering transaction; without it the 5 s re-check would still tell, later).
      try (Socket idle = new Socket(n2.address(), n2.port("imap"))) {
        idle.setSoTimeout(30_000);
        BufferedReader in = new BufferedReader(new InputStreamReader(idle.getInputStream(), StandardCharsets.US_ASCII));
        OutputStream out = idle.getOutputStream();
        String banner = in.readLine();
        assertThat(banner).startsWith("* OK");
        for (String c : List.of("a LOGIN alice@" + DOMAIN + " alice-pw", "b SELECT INBOX")) {
          out.write((c + "\r\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
          String tag = c.substring(0, 1) + " ";
          String l;
          while (!(l = in.readLine()).startsWith(tag)) {
            assertThat(l).startsWith("*");
          }
          assertThat(l).startsWith(tag + "OK");
        }
        out.write("c IDLE\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertThat(in.readLine()).startsWith("+");
        long sentAt;
        try (Smtp smtp = new Smtp(n1)) {
          assertThat(smtp.send("alice@" + DOMAIN, message("idle-1", 3))).startsWith("250");
          sentAt = System.nanoTime();
        }
        String l = in.readLine();
        while (l != null && !l.endsWith(" EXISTS")) {
          l = in.readLine();
        }
        assertThat(l).as("node 2's IDLE session hears of node 1's delivery").isEqualTo("* 3 EXISTS");
        System.out.printf("IDLE on node 2 heard node 1's delivery %d ms after its 250%n",
            (System.nanoTime() - sentAt) / 1_000_000);
        out.write("DONE\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        while (!(l = in.readLine()).startsWith("c ")) {
          assertThat(l).startsWith("*");
        }

        // NOTIFY on node 2, INBOX not selected (RFC 5465): mail into node 1 comes as an unsolicited STATUS between
        // commands, on the same event path as IDLE
        for (String c : List.of("d UNSELECT", "e NOTIFY SET (inboxes (MessageNew MessageExpunge))")) {
          out.write((c + "\r\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
          String tag = c.substring(0, 1) + " ";
          while (!(l = in.readLine()).startsWith(tag)) {
            assertThat(l).startsWith("*");
          }
          assertThat(l).startsWith(tag + "OK");
        }
        try (Smtp smtp = new Smtp(n1)) {
          assertThat(smtp.send("alice@" + DOMAIN, message("notify-1", 3))).startsWith("250");
          sentAt = System.nanoTime();
        }
        l = in.readLine();
        assertThat(l).as("node 2's NOTIFY session hears of node 1's delivery")
            .matches("\\* STATUS \"INBOX\" \\(MESSAGES 4 UIDNEXT \\d+ UIDVALIDITY \\d+\\)");
        System.out.printf("NOTIFY on node 2 heard node 1's delivery %d ms after its 250%n",
            (System.nanoTime() - sentAt) / 1_000_000);
      }

      // APPEND into bob's INBOX from both nodes at once: every UID once, increasing on each connection.
      ExecutorService pool = Executors.newFixedThreadPool(2);
      List<Future<List<Long>>> appends = new ArrayList<>();
      for (ClusterNode n : List.of(n1, n2)) {
        appends.add(pool.submit((Callable<List<Long>>) () -> append(n, "bob", 20)));
      }
      List<Long> uids1 = appends.get(0).get();
      List<Long> uids2 = appends.get(1).get();
      pool.shutdown();
      assertThat(uids1).isSorted().doesNotHaveDuplicates().hasSize(20);
      assertThat(uids2).isSorted().doesNotHaveDuplicates().hasSize(20);
      TreeSet<Long> all = new TreeSet<>(uids1);
      all.addAll(uids2);
      assertThat(all).as("no UID given twice across nodes").hasSize(40);
      try (Store imap = imap(n1, "bob")) {
        IMAPFolder inbox = (IMAPFolder) imap.getFolder("INBOX");
        inbox.open(Folder.READ_ONLY);
        TreeSet<Long> seen = new TreeSet<>();
        for (Message m : inbox.getMessages()) {
          seen.add(inbox.getUID(m));
        }
        assertThat(seen).isEqualTo(all);
        assertThat(inbox.getUIDNext()).isGreaterThan(all.last());
      }

      // What a 250 costs here (for the README): small messages one after another on one connection, twice (the
      // first round warms the node's code up).
      for (int round = 1; round <= 2; round++) {
        try (Smtp smtp = new Smtp(n2)) {
          long start = System.nanoTime();
          for (int i = 0; i < 30; i++) {
            assertThat(smtp.send("bob@" + DOMAIN, message("timed-" + round + "-" + i, 20))).startsWith("250");
          }
          System.out.printf("round %d: 30 small messages in sequence on one connection: %.1f ms per message"
              + " (MAIL, RCPT, DATA, body, 250)%n", round, (System.nanoTime() - start) / 30 / 1e6);
        }
      }

      // SIGKILL node 1 right after its 250: the messages are on node 2 (nothing waits in a local journal).
      List<String> sent = new ArrayList<>();
      try (Smtp smtp = new Smtp(n1)) {
        for (int i = 0; i < 4; i++) {
          String m = message("killed-" + i, i == 3 ? 4000 : 5 + i);
          assertThat(smtp.send("alice@" + DOMAIN, m)).startsWith("250");
          sent.add(m);
        }
        n1.kill(); // the last 250 was read a moment ago
      }
      List<String> onNode2 = imapBodies(n2, "alice");
      for (String m : sent) {
        assertThat(onNode2).as("acknowledged by node 1 before its SIGKILL, read on node 2")
            .anyMatch(b -> b.endsWith(m));
      }

      // Node 1 comes back on the shared store (its start-up sweep leaves the others' recent blobs alone).
      n1.start().awaitListening(180);
      List<String> onNode1 = imapBodies(n1, "alice");
      for (String m : sent) {
        assertThat(onNode1).anyMatch(b -> b.endsWith(m));
      }
      assertThat(onNode1).hasSameSizeAs(onNode2).hasSize(8); // small, large, idle-1, notify-1, four sent before the SIGKILL
    }
  }

  /** A message with a unique subject and {@code lines} lines of body. */
  private static String message(String id, int lines) {
    StringBuilder b = new StringBuilder("From: <sender@remote.test>\r\nTo: <someone@" + DOMAIN + ">\r\nSubject: "
        + id + "\r\nMessage-ID: <" + id + "@remote.test>\r\n\r\n");
    for (int i = 0; i < lines; i++) {
      b.append(id).append(" line ").append(i).append(" 0123456789abcdef0123456789\r\n");
    }
    return b.toString();
  }

  /** The reply to RCPT TO {@code to} on a new SMTP session with the node. */
  private static String rcpt(ClusterNode n, String to) throws IOException {
    try (Smtp smtp = new Smtp(n)) {
      smtp.command("MAIL FROM:<sender@remote.test>", "250");
      return smtp.reply("RCPT TO:<" + to + ">");
    }
  }

  private static Store imap(ClusterNode n, String user) throws Exception {
    Store s = ClusterClients.session().getStore("imap");
    s.connect(n.address(), n.port("imap"), user + "@" + DOMAIN, user + "-pw");
    return s;
  }

  /** Every message of the user's INBOX over IMAP, whole (as the server stored it). */
  private static List<String> imapBodies(ClusterNode n, String user) throws Exception {
    try (Store s = imap(n, user)) {
      Folder inbox = s.getFolder("INBOX");
      inbox.open(Folder.READ_ONLY);
      return raw(inbox.getMessages());
    }
  }

  /** Every message of the user's maildrop over POP3 (RETR), whole. */
  private static List<String> pop3Bodies(ClusterNode n, String user) throws Exception {
    Store s = ClusterClients.session().getStore("pop3");
    s.connect(n.address(), n.port("pop3"), user + "@" + DOMAIN, user + "-pw");
    try {
      Folder inbox = s.getFolder("INBOX");
      inbox.open(Folder.READ_ONLY);
      List<String> out = raw(inbox.getMessages());
      inbox.close(false);
      return out;
    } finally {
      s.close();
    }
  }

  private static List<String> raw(Message[] messages) throws Exception {
    List<String> out = new ArrayList<>();
    for (Message m : messages) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      m.writeTo(b);
      out.add(b.toString(StandardCharsets.ISO_8859_1));
    }
    return out;
  }

  /** {@code count} APPENDs over one IMAP connection to the node; the UIDs the server gave (UIDPLUS). */
  private static List<Long> append(ClusterNode n, String user, int count) throws Exception {
    List<Long> uids = new ArrayList<>();
    try (Store s = imap(n, user)) {
      IMAPFolder inbox = (IMAPFolder) s.getFolder("INBOX");
      for (int i = 0; i < count; i++) {
        MimeMessage m = new MimeMessage(ClusterClients.session(), new java.io.ByteArrayInputStream(
            message("append-" + n.address() + "-" + i, 3).getBytes(StandardCharsets.US_ASCII)));
        AppendUID[] got = inbox.appendUIDMessages(new Message[] {m});
        assertThat(got).hasSize(1);
        assertThat(got[0]).as("APPENDUID").isNotNull();
        uids.add(got[0].uid);
      }
    }
    return uids;
  }

  /** A bare SMTP client: each reply read, so that the test knows the instant a 250 arrived. */
  private static final class Smtp implements AutoCloseable {
    private final Socket socket;
    private final BufferedReader in;
    private final OutputStream out;

    Smtp(ClusterNode n) throws IOException {
      socket = new Socket(n.address(), n.port("smtp"));
      socket.setSoTimeout(60_000);
      in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
      out = socket.getOutputStream();
      expect(read(), "220");
      command("EHLO client.test", "250");
    }

    String send(String to, String message) throws IOException {
      command("MAIL FROM:<sender@remote.test>", "250");
      command("RCPT TO:<" + to + ">", "250");
      command("DATA", "354");
      out.write((message + ".\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return read();
    }

    void command(String line, String code) throws IOException {
      expect(reply(line), code);
    }

    String reply(String line) throws IOException {
      out.write((line + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return read();
    }

    /** One reply (its last line). */
    private String read() throws IOException {
      String l;
      do {
        l = in.readLine();
        if (l == null) {
          throw new IOException("the server closed the connection");
        }
      } while (l.length() > 3 && l.charAt(3) == '-');
      return l;
    }

    private static void expect(String reply, String code) throws IOException {
      if (!reply.startsWith(code)) {
        throw new IOException("expected " + code + ", got: " + reply);
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
