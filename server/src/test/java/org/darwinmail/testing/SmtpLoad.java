package org.darwinmail.testing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * SMTP load on cluster nodes for the tests that break something under it (issue 20): one client thread per target,
 * each sending small messages to one recipient on port 25, one after another on one connection (a new one when it
 * breaks), every message with a subject of its own, until stopped or {@code perClient} messages were tried. What
 * each message got is recorded: 250 ({@link Outcome#ACCEPTED}), a 4xx ({@link Outcome#TEMPORARY}), a 5xx
 * ({@link Outcome#REFUSED}), or no reply because the connection broke or timed out ({@link Outcome#UNKNOWN}: stored
 * or not, the client cannot know). The check that matters is then {@link #check}: every accepted message stored
 * exactly once, none of the others twice.
 */
public final class SmtpLoad implements AutoCloseable {
  public enum Outcome { ACCEPTED, TEMPORARY, REFUSED, UNKNOWN }

  /** A node to load: its address and SMTP port. */
  public record Target(String host, int port) {}

  private final Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
  /** The non-250 replies, for the failure messages and the log. */
  private final Map<String, String> replies = new ConcurrentHashMap<>();
  /** When each client last got a 250 (System.nanoTime), by client index. */
  private final long[] lastAccepted;
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();

  private SmtpLoad(int clients) {
    lastAccepted = new long[clients];
  }

  /** Starts one client per target, subjects {@code <name>-<client>-<n>}. */
  public static SmtpLoad start(String name, List<Target> targets, String to, int perClient) {
    SmtpLoad load = new SmtpLoad(targets.size());
    for (int i = 0; i < targets.size(); i++) {
      int client = i;
      Target t = targets.get(i);
      load.threads.add(Thread.ofPlatform().name("load-" + name + "-" + i).daemon()
          .start(() -> load.run(t, name + "-" + client, client, to, perClient)));
    }
    return load;
  }

  private void run(Target t, String prefix, int client, String to, int perClient) {
    Submitter smtp = null;
    for (int n = 0; n < perClient && !stop.get(); ) {
      if (smtp == null) {
        try {
          smtp = new Submitter("127.0.0.1", t.host(), t.port());
          Submitter.expect(smtp.greeting, "220");
          smtp.timeout(60_000); // a node waiting for its database answers within about 15 s (then 4xx)
          smtp.ehlo();
        } catch (IOException e) {
          close(smtp);
          smtp = null;
          sleep(100); // the node is down or not answering: try again until stopped
          continue;
        }
      }
      String id = prefix + "-" + n++;
      try {
        String reply = smtp.send("sender@remote.test", List.of(to), id);
        if (reply != null && reply.startsWith("250")) {
          outcomes.put(id, Outcome.ACCEPTED);
          synchronized (lastAccepted) {
            lastAccepted[client] = System.nanoTime();
          }
        } else if (reply == null) { // the connection closed before the reply
          outcomes.put(id, Outcome.UNKNOWN);
          replies.put(id, "connection closed");
          close(smtp);
          smtp = null;
        } else {
          outcomes.put(id, reply.startsWith("4") ? Outcome.TEMPORARY : Outcome.REFUSED);
          replies.put(id, reply);
          if (reply.startsWith("421")) {
            close(smtp); // the server closes after 421
            smtp = null;
          }
        }
      } catch (IOException | NullPointerException e) { // NPE: Submitter read the end of the stream mid-dialogue
        outcomes.put(id, Outcome.UNKNOWN);
        replies.put(id, e.toString());
        close(smtp);
        smtp = null;
      }
    }
    close(smtp);
  }

  private static void close(Submitter s) {
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        // gone already
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** How many messages got their 250 so far. */
  public int accepted() {
    return (int) outcomes.values().stream().filter(o -> o == Outcome.ACCEPTED).count();
  }

  /** How many got {@code o}. */
  public int count(Outcome o) {
    return (int) outcomes.values().stream().filter(x -> x == o).count();
  }

  /** Whether client {@code client} got a 250 after {@code nanoTime}. */
  public boolean acceptedSince(int client, long nanoTime) {
    synchronized (lastAccepted) {
      return lastAccepted[client] != 0 && lastAccepted[client] - nanoTime > 0;
    }
  }

  /** Waits until {@code condition} holds (polling), at most {@code seconds}; false when it never did. */
  public static boolean await(BooleanSupplier condition, int seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      sleep(50);
    }
    return true;
  }

  /** Stops every client after its current message; waits for them. */
  public void stop() throws InterruptedException {
    stop.set(true);
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(60));
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }

  public Map<String, Outcome> outcomes() {
    return Map.copyOf(outcomes);
  }

  /** The non-250 replies by subject (a 4xx, a 5xx, or the client's error). */
  public Map<String, String> replies() {
    return Map.copyOf(replies);
  }

  /**
   * Against the subjects of the stored messages (one entry per message stored, repeated when stored twice): every
   * message of this load that got 250 stored exactly once, no other twice. Returns the problems found (empty: none).
   */
  public List<String> check(List<String> storedSubjects) {
    Map<String, Integer> stored = new ConcurrentHashMap<>();
    storedSubjects.forEach(s -> stored.merge(s, 1, Integer::sum));
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, Outcome> e : outcomes.entrySet()) {
      int n = stored.getOrDefault(e.getKey(), 0);
      if (e.getValue() == Outcome.ACCEPTED ? n != 1 : n > 1) {
        problems.add(e.getKey() + " (" + e.getValue() + ") stored " + n + " time(s)");
      }
    }
    return problems;
  }

  /** "accepted a, temporary t, refused r, unknown u". */
  public String summary() {
    return "accepted " + count(Outcome.ACCEPTED) + ", temporary errors " + count(Outcome.TEMPORARY) + ", refused "
        + count(Outcome.REFUSED) + ", no reply " + count(Outcome.UNKNOWN);
  }
}
