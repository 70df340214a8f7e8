package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.darwinmail.config.BlobsConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.config.StoreConfig;
import org.darwinmail.testing.AtOnce;
import org.darwinmail.testing.ClusterNode;
import org.darwinmail.testing.PostgresCluster;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * Three nodes on one PostgreSQL database and one S3 bucket (issue 20), three servers in this JVM, one IMAP client on
 * each, all in the same INBOX at once: APPEND, UID STORE of their own message and of every message (a flag toggled
 * on all, so that the clients change the same messages), \Deleted and UID EXPUNGE of their own. Afterwards:
 *
 * <ul>
 *   <li>UIDs are strictly ascending in sequence order, without duplicates, and the messages are exactly those
 *       appended and not expunged; UIDNEXT is above every UID ever given (RFC 9051 §2.3.1.1);
 *   <li>after a NOOP every client sees the same messages with the same flags and MODSEQs;
 *   <li>a message's MODSEQ grows with each change (RFC 7162 §3.1: each change of a message's metadata gives it a
 *       new, higher mod-sequence): two observations, by any client, of one message with one MODSEQ show the same
 *       flags, and on each connection a message's MODSEQ never goes back and changed flags come with a higher one.
 * </ul>
 *
 * The servers are in-process (no cold JVMs): 9-38 s on the shared machine, so it runs in {@code make check}.
 */
class ConcurrentChangesAcrossNodesTest {
  private static final int ROUNDS = 12;
  private static final Pattern FETCH = Pattern.compile("^\\* (\\d{1,9}) FETCH \\((.{0,2000})\\)$");
  private static final Pattern UID = Pattern.compile("\\bUID (\\d{1,10})");
  private static final Pattern FLAGS = Pattern.compile("\\bFLAGS \\(([^)]{0,1000})\\)");
  private static final Pattern MODSEQ = Pattern.compile("\\bMODSEQ \\((\\d{1,19})\\)");
  private static final Pattern APPENDUID = Pattern.compile("\\[APPENDUID \\d+ (\\d+)\\]");

  /** One message's state as a client saw it. */
  record Seen(long uid, long modseq, Set<String> flags) {}

  /** A client on one node, and what it saw, in order. */
  static final class Client {
    final int n;
    final ImapClient imap;
    final List<Seen> seen = new ArrayList<>();
    final List<Long> appended = new ArrayList<>();
    final List<Long> expunged = new ArrayList<>();

    Client(int n, int port) throws IOException {
      this.n = n;
      this.imap = new ImapClient(port).login("carol@cluster.test", "pw");
      ok(cmd("ENABLE QRESYNC")); // every FETCH then carries the UID and MODSEQ (RFC 7162 §3.2.4, §3.1.4.1)
      ok(cmd("SELECT INBOX"));
    }

    List<String> cmd(String command) throws IOException {
      List<String> lines = imap.cmd(command);
      for (String l : lines) {
        Matcher m = FETCH.matcher(l);
        if (m.matches()) {
          Matcher u = UID.matcher(m.group(2));
          Matcher f = FLAGS.matcher(m.group(2));
          Matcher s = MODSEQ.matcher(m.group(2));
          if (u.find() && f.find() && s.find()) {
            seen.add(new Seen(Long.parseLong(u.group(1)), Long.parseLong(s.group(1)), flags(f.group(1))));
          }
        }
      }
      return lines;
    }

    void round(int r) throws IOException {
      String msg = "From: c" + n + "@cluster.test\r\nSubject: c" + n + " r" + r + "\r\n\r\nround " + r + "\r\n";
      List<String> a = cmd("APPEND INBOX {" + msg.getBytes(StandardCharsets.UTF_8).length + "+}\r\n" + msg);
      Matcher m = APPENDUID.matcher(ok(a));
      assertThat(m.find()).as("APPENDUID in " + a).isTrue();
      long uid = Long.parseLong(m.group(1));
      appended.add(uid);
      ok(cmd("UID STORE " + uid + " +FLAGS (\\Seen $c" + n + "r" + r + ")"));
      ok(cmd("UID STORE 1:* " + (r % 2 == 0 ? "+" : "-") + "FLAGS ($t" + n + ")"));
      if (r % 3 == 2) {
        long gone = appended.get(appended.size() - 2);
        ok(cmd("UID STORE " + gone + " +FLAGS.SILENT (\\Deleted)"));
        ok(cmd("UID EXPUNGE " + gone));
        expunged.add(gone);
      }
      ok(cmd("NOOP"));
    }

    /** The mailbox as this client sees it after a NOOP: UID to [MODSEQ, flags], in sequence order. */
    List<Seen> view() throws IOException {
      ok(cmd("NOOP"));
      List<Seen> out = new ArrayList<>();
      int before = seen.size();
      ok(cmd("FETCH 1:* (UID FLAGS MODSEQ)"));
      out.addAll(seen.subList(before, seen.size()));
      return out;
    }
  }

  private static String ok(List<String> lines) {
    String last = lines.getLast();
    assertThat(last).as(String.join("\n", lines)).matches("t\\d+ OK.*");
    return last;
  }

  private static Set<String> flags(String list) {
    Set<String> s = new TreeSet<>();
    for (String f : list.trim().split(" ")) {
      if (!f.isEmpty() && !f.equals("\\Recent")) {
        s.add(f);
      }
    }
    return s;
  }

  @Test
  void threeClientsOnThreeNodesChangingOneMailboxAtOnceAgreeOnUidsFlagsAndModseqs() throws Exception {
    ClusterNode.Shared store = ClusterNode.Shared.create();
    UnaryOperator<ServerConfig> shared = c -> c
        .withStore(new StoreConfig(16L, StoreConfig.POSTGRESQL, store.jdbcUrl(), PostgresCluster.USER,
            store.passwordFile().toString(), 4))
        .withBlobs(new BlobsConfig(BlobsConfig.S3, store.endpoint(), store.bucket(), null,
            store.credentialsFile().toString(), true, null));
    List<TestServer> nodes = new ArrayList<>();
    List<Client> clients = new ArrayList<>();
    try {
      nodes.add(TestServer.start(shared));
      nodes.getFirst().addUser("carol@cluster.test", "pw");
      nodes.add(TestServer.start(shared));
      nodes.add(TestServer.start(shared));
      for (int i = 0; i < nodes.size(); i++) {
        clients.add(new Client(i, nodes.get(i).port("imap")));
      }

      AtOnce.run(clients, c -> {
        for (int r = 0; r < ROUNDS; r++) {
          c.round(r);
        }
        return null;
      });

      for (Client c : clients) {
        assertThat(c.seen).as("client " + c.n + " saw the others' changes while they were made")
            .anyMatch(x -> x.flags().stream().anyMatch(f -> f.startsWith("$t") && !f.equals("$t" + c.n)));
      }
      Set<Long> expected = new TreeSet<>();
      long highestUid = 0;
      for (Client c : clients) {
        expected.addAll(c.appended);
        highestUid = Math.max(highestUid, c.appended.stream().mapToLong(Long::longValue).max().orElse(0));
      }
      for (Client c : clients) {
        c.expunged.forEach(expected::remove);
      }
      List<Seen> first = null;
      for (Client c : clients) {
        List<Seen> view = c.view();
        List<Long> uids = view.stream().map(Seen::uid).toList();
        assertThat(uids).as("client " + c.n + ": UIDs in sequence order").isSorted().doesNotHaveDuplicates();
        assertThat(new TreeSet<>(uids)).as("client " + c.n + ": the messages").isEqualTo(expected);
        if (first == null) {
          first = view;
        } else {
          assertThat(view).as("client " + c.n + " sees what client 0 sees").isEqualTo(first);
        }
        List<String> lines = c.cmd("STATUS INBOX (UIDNEXT HIGHESTMODSEQ)");
        ok(lines);
        Matcher st = Pattern.compile("UIDNEXT (\\d+) HIGHESTMODSEQ (\\d+)").matcher(String.join(" ", lines));
        assertThat(st.find()).as(String.join("\n", lines)).isTrue();
        assertThat(Long.parseLong(st.group(1))).as("UIDNEXT").isGreaterThan(highestUid);
        long highestSeen = view.stream().mapToLong(Seen::modseq).max().orElse(0);
        assertThat(Long.parseLong(st.group(2))).as("HIGHESTMODSEQ").isGreaterThanOrEqualTo(highestSeen);
      }

      // RFC 7162 §3.1: one MODSEQ of one message is one state of it, whoever saw it...
      Map<Long, Map<Long, Set<String>>> states = new HashMap<>();
      for (Client c : clients) {
        for (Seen s : c.seen) {
          Set<String> before = states.computeIfAbsent(s.uid(), u -> new TreeMap<>()).putIfAbsent(s.modseq(),
              s.flags());
          assertThat(before == null ? s.flags() : before)
              .as("UID " + s.uid() + " MODSEQ " + s.modseq() + " seen with two flag sets").isEqualTo(s.flags());
        }
      }
      // ... and on each connection a message's MODSEQ goes only up, and up with every change of its flags.
      for (Client c : clients) {
        Map<Long, Seen> last = new ConcurrentHashMap<>();
        for (Seen s : c.seen) {
          Seen p = last.put(s.uid(), s);
          if (p != null) {
            assertThat(s.modseq()).as("client " + c.n + ", UID " + s.uid() + " after " + p)
                .isGreaterThanOrEqualTo(p.modseq());
            if (!p.flags().equals(s.flags())) {
              assertThat(s.modseq()).as("client " + c.n + ", UID " + s.uid() + ": changed flags after " + p)
                  .isGreaterThan(p.modseq());
            }
          }
        }
      }
    } finally {
      for (Client c : clients) {
        c.imap.close();
      }
      for (TestServer t : nodes) {
        t.close();
      }
    }
  }
}
