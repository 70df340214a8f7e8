package org.darwinmail.store;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Consumer;

/**
 * The cross-node event channel (ARCHITECTURE.md, "The cluster event channel"; issue 20): what another node sharing
 * the database changed, so that this node's IDLE sessions wake and its caches empty within a second. The database
 * stays the truth: an event only says "look again" (a mailbox and the modseq it reached, a cache and a key), and a
 * missed one only delays (the mail store rechecks its watched mailboxes' modseqs: {@link MailStore#listen}).
 *
 * <p>A change is announced by the repository that makes it, inside its transaction ({@link #send}), so that other
 * nodes hear of it when, and only when, it commits: PostgreSQL's {@code pg_notify}, delivered at commit. State kept
 * only in memory (login failures) is announced outside any transaction ({@link #publish}). A node never hears its
 * own events: it announces its changes in-process as it always did ({@link MailboxEvents}, the caches' own
 * invalidation). On Derby (one node) nothing is sent and nothing heard: {@link #LOCAL}.
 */
public interface ClusterEvents extends AutoCloseable {
  /** The PostgreSQL channel every node listens on. */
  String CHANNEL = "darwinmail";

  /** What an event is about, and the key it carries (one letter on the wire). */
  enum Topic {
    /** A mailbox's messages changed (added, flags, expunged); key "mailboxId:modseq", or "mailboxId" (deleted). */
    MAILBOX('m'),
    /** Mailboxes were created, renamed or deleted: cached mailbox ids are stale; no key. */
    MAILBOXES('b'),
    /** Domains, accounts or aliases changed: the directory's caches are stale; no key. */
    DIRECTORY('d'),
    /** An account was blocked or unblocked by the abuse guard; key: the account. */
    SENDER('s'),
    /** A login failure, success or unlock ({@code guard.LoginGuard}); key: its own encoding. */
    LOGIN('l'),
    /** The shared TLS certificate was replaced ({@link SharedKeys#storeCertificate}); no key. */
    CERTIFICATE('c');

    final char code;

    Topic(char code) {
      this.code = code;
    }

    static Topic of(String code) {
      for (Topic t : values()) {
        if (code.length() == 1 && t.code == code.charAt(0)) {
          return t;
        }
      }
      return null; // a topic of a newer release: ignored
    }
  }

  /**
   * Calls {@code listener} with the key of every event on {@code topic} from another node, or with null when
   * anything of that topic may have changed unseen (the channel was (re)connected: events may have been missed;
   * for {@link Topic#MAILBOX} also periodically, as the safety net). Listeners run on the channel's one thread, in
   * the order the events were committed; they must be short (a query at most) and must not throw.
   */
  void subscribe(Topic topic, Consumer<String> listener);

  /** Announces an in-memory change to the other nodes now, outside any transaction; errors are logged, not thrown. */
  void publish(Topic topic, String key);

  @Override
  void close();

  /** One node alone (Derby): nothing is heard and nothing sent; every change is announced in-process. */
  ClusterEvents LOCAL = new ClusterEvents() {
    @Override
    public void subscribe(Topic topic, Consumer<String> listener) {}

    @Override
    public void publish(Topic topic, String key) {}

    @Override
    public void close() {}

    @Override
    public String toString() {
      return "local";
    }
  };

  /** The channel of {@code db}: a listener of its own on PostgreSQL, started here; {@link #LOCAL} on Derby. */
  static ClusterEvents open(SqlRunner db) {
    return db instanceof PostgresDatabase pg ? PostgresClusterEvents.start(pg) : LOCAL;
  }

  // ---- the wire -----------------------------------------------------------------------------------------------

  /** PostgreSQL refuses a payload of 8,000 bytes or more; one notification carries at most this many. */
  int PAYLOAD_MAX = 7_900;
  /** A key longer than this is cut (an address is at most 320 octets; a login name is whatever a client sent). */
  int KEY_MAX = 512;

  /**
   * Announces changes of {@code topic} in the caller's transaction on {@code c}: other nodes hear of them at its
   * commit, never when it rolls back. Several keys go in one notification (split when they would not fit). Derby:
   * nothing ({@link SqlDialect#announce}).
   */
  static void send(SqlRunner db, Connection c, Topic topic, Collection<String> keys) throws SQLException {
    if (!sent(db)) {
      return;
    }
    for (String payload : payloads(db.node(), topic, keys)) {
      db.dialect().announce(c, CHANNEL, payload);
    }
  }

  /** Whether {@link #send} on {@code db} sends anything (PostgreSQL); callers skip building keys when not. */
  static boolean sent(SqlRunner db) {
    return db.dialect() == SqlDialect.POSTGRESQL;
  }

  /** {@link #send} of one key (or none: {@code key} null). */
  static void send(SqlRunner db, Connection c, Topic topic, String key) throws SQLException {
    send(db, c, topic, key == null ? List.of() : List.of(key));
  }

  /**
   * The payloads announcing {@code keys}: "node topic key key ...", each key URL-encoded (no spaces, no control
   * characters, at most {@link #KEY_MAX} characters before encoding), each payload under {@link #PAYLOAD_MAX}.
   */
  static List<String> payloads(String node, Topic topic, Collection<String> keys) {
    String head = node + " " + topic.code;
    List<String> out = new ArrayList<>();
    StringBuilder b = new StringBuilder(head);
    for (String k : keys) {
      String e = URLEncoder.encode(k.length() > KEY_MAX ? k.substring(0, KEY_MAX) : k, StandardCharsets.UTF_8);
      if (b.length() > head.length() && b.length() + 1 + e.length() > PAYLOAD_MAX) {
        out.add(b.toString());
        b = new StringBuilder(head);
      }
      b.append(' ').append(e);
    }
    out.add(b.toString());
    return out;
  }

  /** One received notification: the sending node, the topic, the keys (none: the whole topic). */
  record Received(String node, Topic topic, List<String> keys) {}

  /** Reads a payload made by {@link #payloads}; null when it is not one (another program, a newer topic). */
  static Received parse(String payload) {
    if (payload == null || payload.length() > 8_000) {
      return null;
    }
    String[] parts = payload.split(" ", -1);
    if (parts.length < 2 || parts[0].isEmpty()) {
      return null;
    }
    Topic t = Topic.of(parts[1]);
    if (t == null) {
      return null;
    }
    List<String> keys = new ArrayList<>(parts.length - 2);
    for (int i = 2; i < parts.length; i++) {
      try {
        keys.add(URLDecoder.decode(parts[i], StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    return new Received(parts[0], t, keys);
  }
}
