package org.darwinmail.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.darwinmail.testing.PostgresCluster;

/**
 * One store for a repository contract test, on one engine: {@link #node()} opens another node on it. On Derby
 * (one process per database) every node shares the one {@link Database}; on PostgreSQL each node has its own
 * pool, as separate servers would, on one fresh database of the test cluster ({@link PostgresCluster}).
 */
abstract class Engine implements AutoCloseable {
  abstract SqlRunner node();

  private static Database derby;

  /**
   * One Derby database per test JVM (a new one costs 2-3 s on a busy machine), emptied of the repositories' rows
   * for each test; closed and removed when the JVM exits.
   */
  static synchronized Engine derby() {
    if (derby == null) {
      Path dir = temp();
      Database db = Database.open(dir);
      derby = db;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        db.close();
        try (var s = Files.walk(dir)) {
          s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
          // a temporary folder left behind
        }
      }, "derby-engine-close"));
    }
    Database db = derby;
    db.tx(c -> {
      try (var st = c.createStatement()) {
        for (String t : List.of("queue_recipients", "queue_messages", "sender_blocks", "sender_recipients",
            "expunged", "messages", "mailboxes", "orphan_subscriptions", "accounts", "aliases", "domains",
            "blob_candidates", "trace_events", "urlauth_keys", "dkim_keys", "tls_certificate")) {
          st.executeUpdate("DELETE FROM " + t);
        }
      }
      return null;
    });
    return new Engine() {
      @Override
      SqlRunner node() {
        return db;
      }

      @Override
      public void close() {
        // the database stays for the next test
      }

      @Override
      public String toString() {
        return "derby";
      }
    };
  }

  static Engine postgres() {
    PostgresCluster pg = PostgresCluster.shared();
    String url = pg.newDatabase();
    return new Engine() {
      private final List<PostgresDatabase> nodes = new ArrayList<>();

      @Override
      SqlRunner node() {
        PostgresDatabase d = PostgresDatabase.open(url, PostgresCluster.USER,
            PostgresDatabase.readPassword(pg.passwordFile()), 8);
        nodes.add(d);
        return d;
      }

      @Override
      public void close() {
        nodes.forEach(PostgresDatabase::close);
      }

      @Override
      public String toString() {
        return "postgresql";
      }
    };
  }

  private static Path temp() {
    try {
      return Files.createTempDirectory("darwinmail-engine");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
