package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18: a {@code backup restore --replace} stopped after any of its steps (as a SIGKILL would: nothing of it
 * runs after the stop) leaves the old data set or the new one, never a mix, and the next start (or the next
 * {@code restore --replace}) finishes the swap (ARCHITECTURE.md, "Backups").
 */
class RestoreReplaceCrashTest {
  /** No server runs on these copies (the refusal while one runs: cli.RestoreReplaceTest). */
  private static final java.util.function.Function<Path, String> NO_SERVER = dir -> null;

  @TempDir
  Path dir;

  /** Thrown by the test hook: the swap stops there, as if the process had been killed. */
  static final class Killed extends Error {
    Killed(String step) {
      super("killed after " + step);
    }
  }

  @AfterEach
  void noHook() {
    RestoreReplace.afterStep = step -> {};
  }

  private ServerConfig config(Path data) throws IOException {
    Path c = dir.resolve(data.getFileName() + ".toml");
    Files.writeString(c, "hostname = \"crash.test\"\ndata_dir = \"" + data + "\"\n[listen]\nsmtp = \"127.0.0.1:0\"\n"
        + "submission = \"\"\nsubmissions = \"\"\nimap = \"\"\nimaps = \"\"\npop3 = \"\"\npop3s = \"\"\nadmin = \"\"\n");
    return ConfigLoader.load(c);
  }

  private static void add(ServerConfig cfg, String subject) throws IOException {
    try (var s = DarwinMail.Services.open(cfg)) {
      if (s.directory().account("a@one.test").isEmpty()) {
        s.directory().addDomain("one.test");
        s.directory().addAccount("a@one.test", "a-password".toCharArray());
      }
      long inbox = s.mail().mailbox(s.directory().account("a@one.test").orElseThrow().id(), "INBOX").orElseThrow()
          .id();
      BlobStore.BlobWriter w = s.blobs().create();
      BlobRef blob;
      try (OutputStream o = w) {
        o.write(("Subject: " + subject + "\r\n\r\n" + subject + "\r\n").getBytes(StandardCharsets.UTF_8));
        blob = w.commit();
      }
      s.mail().append(inbox, blob, Instant.now(), Flags.SEEN, Set.of("k-" + subject));
    }
  }

  /** The subjects of a@one.test's INBOX, read by a start on the data directory (which finishes a swap first). */
  private static List<String> subjects(ServerConfig cfg) throws IOException {
    List<String> out = new ArrayList<>();
    try (var s = DarwinMail.Services.open(cfg)) {
      long inbox = s.mail().mailbox(s.directory().account("a@one.test").orElseThrow().id(), "INBOX").orElseThrow()
          .id();
      for (MessageRow r : s.mail().messages(inbox)) {
        try (InputStream in = s.mail().open(r)) {
          out.add(new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().findFirst().orElseThrow()
              + " " + r.keywords());
        }
      }
    }
    return out;
  }

  private static List<String> names(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aReplaceStoppedAfterAnyStepLeavesOneWholeDataSetAndTheNextStartFinishesTheSwap() throws Exception {
    Path template = dir.resolve("template");
    ServerConfig t = config(template);
    add(t, "one");
    Backup.Created backup;
    try (var s = DarwinMail.Services.open(t);
        java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:derby:" + template.resolve("db"))) {
      backup = Backup.create(c, template, dir.resolve("backups"), "test", false);
    }
    add(t, "two"); // the old set has one message more than the backup
    List<String> newSet = List.of("Subject: one [k-one]");
    List<String> oldSet = List.of("Subject: one [k-one]", "Subject: two [k-two]");
    assertThat(subjects(t)).isEqualTo(oldSet);

    // The steps of a whole run, as the hook sees them.
    List<String> steps = new ArrayList<>();
    Path first = dir.resolve("first");
    org.darwinmail.testing.Trees.copy(template, first);
    RestoreReplace.afterStep = steps::add;
    RestoreReplace.replace(first, NO_SERVER, staging -> Backup.restore(backup.path(), staging));
    assertThat(steps).startsWith("restored", "journal").contains("aside db", "in db").endsWith("done");
    assertThat(subjects(config(first))).isEqualTo(newSet);

    for (int k = 0; k < steps.size(); k++) {
      String step = steps.get(k);
      Path data = dir.resolve("data" + k);
      org.darwinmail.testing.Trees.copy(template, data);
      RestoreReplace.afterStep = s -> {
        if (s.equals(step)) {
          throw new Killed(s);
        }
      };
      assertThatThrownBy(() -> RestoreReplace.replace(data, NO_SERVER,
          staging -> Backup.restore(backup.path(), staging))).isInstanceOf(Killed.class);
      RestoreReplace.afterStep = s -> {};
      boolean swapped = k >= steps.indexOf("journal");
      assertThat(Files.exists(data.resolve(RestoreReplace.JOURNAL))).as(step).isEqualTo(swapped && k < steps.size() - 1);
      // The next start: the old set when stopped before the journal, else the new one; one of them, whole.
      assertThat(subjects(config(data))).as("stopped after %s", step).isEqualTo(swapped ? newSet : oldSet);
      assertThat(names(data)).as(step).doesNotContain(RestoreReplace.STAGING, RestoreReplace.JOURNAL);
      List<String> aside = names(data).stream().filter(n -> n.startsWith(RestoreReplace.REPLACED)).toList();
      assertThat(aside).as(step).hasSize(swapped ? 1 : 0);
      if (swapped) {
        assertThat(subjects(config(data.resolve(aside.getFirst())))).as(step).isEqualTo(oldSet);
      }
    }

    // The next restore --replace finishes an interrupted swap too, before its own.
    Path data = dir.resolve("again");
    org.darwinmail.testing.Trees.copy(template, data);
    RestoreReplace.afterStep = s -> {
      if (s.equals("aside db")) {
        throw new Killed(s);
      }
    };
    assertThatThrownBy(() -> RestoreReplace.replace(data, NO_SERVER,
        staging -> Backup.restore(backup.path(), staging)))
        .isInstanceOf(Killed.class);
    RestoreReplace.afterStep = s -> {};
    RestoreReplace.Replaced again = RestoreReplace.replace(data, NO_SERVER,
        staging -> Backup.restore(backup.path(), staging));
    List<String> aside = names(data).stream().filter(n -> n.startsWith(RestoreReplace.REPLACED)).toList();
    assertThat(aside).hasSize(2); // the set the first run replaced, and the restored set the second one did
    assertThat(subjects(config(data))).isEqualTo(newSet);
    assertThat(again.aside()).isNotNull();
  }
}
