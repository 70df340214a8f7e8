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

  static Engine derby() {
    return new Engine() {
      private final Path dir = temp();
      private final Database db = Database.open(dir);

      @Override
      SqlRunner node() {
        return db;
      }

      @Override
      public void close() throws IOException {
        db.close();
        try (var s = Files.walk(dir)) {
          s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
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
