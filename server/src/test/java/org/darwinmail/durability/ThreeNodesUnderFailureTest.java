package org.darwinmail.durability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.darwinmail.testing.ClusterClients.ok;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.darwinmail.testing.ClusterClients;
import org.darwinmail.testing.ClusterNode;
import org.darwinmail.testing.PostgresCluster;
import org.darwinmail.testing.SmtpLoad;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes (server processes on 127.0.0.2, .3 and .4) on one PostgreSQL of the test's own and one S3 bucket, with
 * things breaking under SMTP load (issue 20; ARCHITECTURE.md, "Several nodes"; ThreeNodesTest covers the rest):
 * (a) the crash-consistency check on this configuration: node 2 is SIGKILLed while clients send to all three nodes;
 * every message that got 250 from any node is stored exactly once, and none other twice; (b) PostgreSQL restarted
 * (fast shutdown, start) while clients send to nodes 1 and 3 and an IMAP session on node 3 asks for its INBOX's
 * status: replies in the meantime are temporary (4xx, NO), never a refusal or a broken session; both clients and
 * the IMAP session get answers again without anything restarted but PostgreSQL; nothing acknowledged is lost or
 * doubled. Each step prints its counts and how long it took.
 */
@Tag("slow") // three server JVMs, a PostgreSQL of its own restarted once, S3Proxy: about two minutes
class ThreeNodesUnderFailureTest {
  private static final String DOMAIN = "cluster.test";
  private static final String ALICE = "alice@" + DOMAIN;
  /** Messages each client tries at most: bounds the test whatever the machine's speed. */
  private static final int PER_CLIENT = 150;
  /** How long PostgreSQL stays stopped: longer than a node retries lost work (PostgresDatabase, 15 s). */
  private static final Duration DOWN = Duration.ofSeconds(20);

  @TempDir
  Path dir;

  @Test
  void acknowledgedMailSurvivesANodeKilledAndPostgresqlRestarted() throws Exception {
    PostgresCluster pg = PostgresCluster.startPrivate();
    try {
      ClusterNode.Shared store = ClusterNode.Shared.create(pg);
      ClusterNode n1 = ClusterNode.configure("node1", "127.0.0.2", dir, store);
      ClusterNode n2 = ClusterNode.configure("node2", "127.0.0.3", dir, store);
      ClusterNode n3 = ClusterNode.configure("node3", "127.0.0.4", dir, store);
      try (n1; n2; n3) {
        long t0 = System.nanoTime();
        n1.start().awaitListening(240);
        ok(n1.cli("", "domain", "add", DOMAIN));
        ok(n1.cli("alice-pw\n", "user", "add", ALICE, "--password-stdin"));
        n2.start();
        n3.start();
        n2.awaitListening(240);
        n3.awaitListening(240);
        System.out.printf("three nodes listening after %d ms%n", ms(t0));

        List<String> problems = new ArrayList<>();
        SmtpLoad killed = aNodeKilledUnderLoad(n1, n2, n3);
        SmtpLoad restarted = postgresqlRestartedUnderLoad(pg, n1, n3);

        // Read on node 3, then on node 1: the same messages, each acknowledged one once.
        List<String> on3 = ClusterClients.subjects(n3, ALICE, "alice-pw");
        List<String> on1 = ClusterClients.subjects(n1, ALICE, "alice-pw");
        problems.addAll(killed.check(on3));
        problems.addAll(restarted.check(on3));
        assertThat(problems).as("every message acknowledged with 250 stored exactly once, none other twice")
            .isEmpty();
        Collections.sort(on1);
        Collections.sort(on3);
        assertThat(on1).isEqualTo(on3);
        System.out.printf("%d messages in the INBOX after both, %d of them acknowledged%n", on3.size(),
            killed.accepted() + restarted.accepted());
      }
    } finally {
      pg.stop();
    }
  }

  /** (a) One client per node; node 2 SIGKILLed once 30 messages were acknowledged; the others go on for 30 more. */
  private static SmtpLoad aNodeKilledUnderLoad(ClusterNode n1, ClusterNode n2, ClusterNode n3) throws Exception {
    SmtpLoad load = SmtpLoad.start("kill", targets(n1, n2, n3), ALICE, PER_CLIENT);
    long t0 = System.nanoTime();
    assertThat(SmtpLoad.await(() -> load.accepted() >= 30, 120)).as("30 messages acknowledged").isTrue();
    n2.kill();
    long killedAt = System.nanoTime();
    int atKill = load.accepted();
    assertThat(SmtpLoad.await(() -> load.accepted() >= atKill + 30, 120)).as("30 more on nodes 1 and 3").isTrue();
    load.stop();
    assertThat(load.count(SmtpLoad.Outcome.REFUSED)).as("no message refused: " + load.replies()).isZero();
    System.out.printf("(a) node 2 SIGKILLed %d ms into the load, %d acknowledged by then; in all: %s (%d ms after"
        + " the kill)%n", (killedAt - t0) / 1_000_000, atKill, load.summary(), ms(killedAt));
    return load;
  }

  /**
   * (b) Clients on nodes 1 and 3 and an IMAP session on node 3; PostgreSQL restarted once 20 messages were
   * acknowledged. Each client gets a 250 after the restart and the IMAP session an OK, by themselves.
   */
  private static SmtpLoad postgresqlRestartedUnderLoad(PostgresCluster pg, ClusterNode n1, ClusterNode n3)
      throws Exception {
    SmtpLoad load = SmtpLoad.start("pg", targets(n1, n3), ALICE, PER_CLIENT);
    List<String> imapReplies = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stopImap = new AtomicBoolean();
    long[] imapOkAfter = {0};
    Thread imap;
    try (ClusterClients.Imap session = new ClusterClients.Imap(n3, ALICE, "alice-pw")) {
      imap = Thread.ofPlatform().name("imap-status").start(() -> {
        try {
          while (!stopImap.get()) {
            String r = session.command("STATUS INBOX (MESSAGES UIDNEXT)");
            imapReplies.add(r);
            if (r.startsWith("OK")) {
              synchronized (imapOkAfter) {
                imapOkAfter[0] = System.nanoTime();
              }
            }
            Thread.sleep(100);
          }
        } catch (IOException | InterruptedException e) {
          imapReplies.add("session broken: " + e);
        }
      });
      assertThat(SmtpLoad.await(() -> load.accepted() >= 20, 120)).as("20 messages acknowledged").isTrue();
      long t0 = System.nanoTime();
      pg.restart(DOWN);
      long restartedAt = System.nanoTime();
      int atRestart = load.accepted();
      boolean resumed = SmtpLoad.await(() -> load.acceptedSince(0, restartedAt) && load.acceptedSince(1, restartedAt),
          120);
      long resumedMs = ms(restartedAt);
      boolean imapResumed = SmtpLoad.await(() -> {
        synchronized (imapOkAfter) {
          return imapOkAfter[0] - restartedAt > 0;
        }
      }, 120);
      stopImap.set(true);
      imap.join(70_000);
      load.stop();
      System.out.printf("(b) PostgreSQL stopped for %d s, up again %d ms after the stop, with %d acknowledged;"
          + " both clients had a 250 again %d ms after; in all: %s; IMAP STATUS: %d OK, %d NO, %s%n",
          DOWN.toSeconds(), (restartedAt - t0) / 1_000_000, atRestart, resumedMs, load.summary(),
          imapReplies.stream().filter(r -> r.startsWith("OK")).count(),
          imapReplies.stream().filter(r -> r.startsWith("NO")).count(),
          imapReplies.stream().filter(r -> !r.startsWith("OK")).distinct().limit(3).toList());
      System.out.println("(b) the replies other than 250: " + load.replies().values().stream().distinct().limit(5)
          .toList());
      assertThat(resumed).as("each client gets a 250 after the restart").isTrue();
      assertThat(imapResumed).as("the IMAP session gets an OK after the restart").isTrue();
      assertThat(load.count(SmtpLoad.Outcome.REFUSED)).as("no message refused: " + load.replies()).isZero();
      assertThat(imapReplies).as("the IMAP session: OK, or NO while PostgreSQL is away, never BAD nor broken")
          .allMatch(r -> r.startsWith("OK") || r.startsWith("NO"));
    }
    return load;
  }

  private static List<SmtpLoad.Target> targets(ClusterNode... nodes) {
    List<SmtpLoad.Target> out = new ArrayList<>();
    for (ClusterNode n : nodes) {
      out.add(new SmtpLoad.Target(n.address(), n.port("smtp")));
    }
    return out;
  }

  private static long ms(long since) {
    return (System.nanoTime() - since) / 1_000_000;
  }
}
