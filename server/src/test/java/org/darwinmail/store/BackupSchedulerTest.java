package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.BackupConfig;
import org.darwinmail.config.ConfigException;
import org.darwinmail.config.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.assertj.core.api.Assertions;

/**
 * Issue 18: scheduled backups ([backup]): a short interval makes backups, retention keeps the newest N and deletes
 * only after a new backup verified, a failing destination is reported and tried again at the next instant.
 */
class BackupSchedulerTest {
  @TempDir
  Path dir;

  private BackupScheduler.Plan plan(String schedule, String folder, Integer keep, Integer keepDays) {
    return new BackupConfig(schedule, folder, keep, keepDays).plan(dir.resolve("data"));
  }

  private DarwinMail.Services store() throws IOException {
    DarwinMail.Services s = DarwinMail.Services.open(ServerConfig.defaults(dir.resolve("data")));
    s.directory().addDomain("one.test");
    Account a = s.directory().addAccount("a@one.test", "a-password".toCharArray());
    long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
    for (int i = 0; i < 3; i++) {
      BlobStore.BlobWriter w = s.blobs().create();
      BlobRef ref;
      try (OutputStream o = w) {
        o.write(("Subject: " + i + "\r\n\r\nbody " + i + "\r\n").getBytes(StandardCharsets.UTF_8));
        ref = w.commit();
      }
      s.mail().deliver(List.of(inbox), ref, Instant.now());
    }
    return s;
  }

  private static BackupScheduler.Maker online(DarwinMail.Services s, AtomicInteger made) {
    return (dest, prefix) -> {
      made.incrementAndGet();
      return Backup.online(s.db(), s.mail(), s.blobs(), s.config().dataDir(), dest, prefix);
    };
  }

  private static List<String> scheduled(Path folder) throws IOException {
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (Stream<Path> l = Files.list(folder)) {
      return l.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("scheduled-")).sorted().toList();
    }
  }

  private static void waitFor(java.util.function.BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (!done.getAsBoolean()) {
      assertThat(System.nanoTime()).as("timed out").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  @Test
  void aShortIntervalMakesBackupsAndRetentionKeepsTheNewestTwo() throws Exception {
    try (DarwinMail.Services s = store()) {
      Path folder = dir.resolve("backups");
      AtomicInteger made = new AtomicInteger();
      Path hand = Backup.online(s.db(), s.mail(), s.blobs(), s.config().dataDir(), folder, "darwinmail").path();
      try (BackupScheduler b = BackupScheduler.start(plan("every 1s", folder.toString(), 2, 0),
          s.config().dataDir(), online(s, made))) {
        waitFor(() -> made.get() >= 4 && b.status() != null && b.status().finished() != null
            && b.status().finished().isAfter(b.status().started()) && !b.status().backup().isEmpty()
            && made.get() >= 4);
        waitFor(() -> {
          BackupScheduler.Status st = b.status();
          return st != null && st.deleted() > 0;
        });
      }
      List<String> left = scheduled(folder);
      assertThat(left).hasSize(2);
      assertThat(hand).exists(); // retention deletes scheduled backups alone
      for (String n : left) {
        assertThat(Backup.verify(folder.resolve(n)).ok()).isTrue();
      }
      BackupScheduler.Status st = BackupScheduler.read(s.config().dataDir());
      assertThat(st.ok()).isTrue();
      assertThat(st.messages()).isEqualTo(3);
      assertThat(st.bytes()).isPositive();
      assertThat(left).contains(Path.of(st.backup()).getFileName().toString());
      String json = BackupScheduler.json(plan("every 1s", folder.toString(), 2, 0),
          s.config().dataDir(), st, null, Instant.now());
      assertThat(json).startsWith("{\"schedule\":\"every 1s\",\"folder\":\"" + folder + "\",\"keep\":2,")
          .contains("\"ok\":true", "\"messages\":3", "\"age_seconds\":");
    }
  }

  @Test
  void aFailingDestinationIsReportedAndTriedAgainAtTheNextInstant() throws Exception {
    try (DarwinMail.Services s = store()) {
      Path folder = dir.resolve("backups");
      Files.writeString(folder, "a file where the folder should be");
      AtomicInteger made = new AtomicInteger();
      try (BackupScheduler b = BackupScheduler.start(plan("every 1s", folder.toString(), 3, 0),
          s.config().dataDir(), online(s, made))) {
        waitFor(() -> b.status() != null);
        BackupScheduler.Status failed = b.status();
        assertThat(failed.ok()).isFalse();
        assertThat(failed.error()).isEqualTo("cannot back up into " + folder + ": not a folder");
        assertThat(BackupScheduler.read(s.config().dataDir()).error()).isEqualTo(failed.error());
        Files.delete(folder);
        waitFor(() -> b.status().ok());
        assertThat(made.get()).isGreaterThanOrEqualTo(2);
      }
      assertThat(scheduled(folder)).isNotEmpty().noneMatch(n -> n.endsWith(".partial"));
    }
  }

  @Test
  void retentionWaitsForABackupThatVerifies() throws Exception {
    try (DarwinMail.Services s = store()) {
      Path folder = dir.resolve("backups");
      BackupScheduler.Plan cfg = plan("every 1h", folder.toString(), 1, 0);
      AtomicInteger made = new AtomicInteger();
      BackupScheduler ok = new BackupScheduler(cfg, s.config().dataDir(), online(s, made), java.time.Clock.systemUTC());
      assertThat(ok.runOnce().ok()).isTrue();
      String first = scheduled(folder).getFirst();
      // The next backup loses a blob before it is verified: it fails and the older one stays.
      BackupScheduler damaged = new BackupScheduler(cfg, s.config().dataDir(), (dest, prefix) -> {
        Backup.Created c = online(s, made).make(dest, prefix);
        try (Stream<Path> w = Files.walk(c.path().resolve("blobs"))) {
          Files.delete(w.filter(Files::isRegularFile).findFirst().orElseThrow());
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        return c;
      }, java.time.Clock.systemUTC());
      BackupScheduler.Status st = damaged.runOnce();
      assertThat(st.ok()).isFalse();
      assertThat(st.error()).contains("does not verify").contains(": missing").endsWith("no older backup deleted");
      assertThat(scheduled(folder)).contains(first).hasSize(2);
      // A good one then replaces both (keep = 1).
      Thread.sleep(1100); // a later second: another folder name
      st = ok.runOnce();
      assertThat(st.ok()).isTrue();
      assertThat(st.deleted()).isEqualTo(2);
      assertThat(scheduled(folder)).containsExactly(Path.of(st.backup()).getFileName().toString());
    }
  }

  @Test
  void keepDaysKeepsYoungBackupsBeyondKeep() throws Exception {
    try (DarwinMail.Services s = store()) {
      Path folder = dir.resolve("backups");
      BackupScheduler b = new BackupScheduler(plan("daily 03:30", folder.toString(), 1, 1),
          s.config().dataDir(), online(s, new AtomicInteger()), java.time.Clock.systemUTC());
      for (int i = 0; i < 3; i++) {
        assertThat(b.runOnce().deleted()).isZero();
      }
      assertThat(scheduled(folder)).hasSize(3);
    }
  }

  @Test
  void schedulesAndTheirNextInstant() throws IOException {
    BackupConfig daily = new BackupConfig("daily 03:30", null, null, null);
    BackupScheduler d = new BackupScheduler(daily.plan(dir), dir, (x, y) -> null, java.time.Clock.systemUTC());
    assertThat(d.after(Instant.parse("2026-12-03T01:00:00Z"))).isEqualTo(Instant.parse("2026-12-03T03:30:00Z"));
    assertThat(d.after(Instant.parse("2026-12-03T03:30:00Z"))).isEqualTo(Instant.parse("2026-12-04T03:30:00Z"));
    assertThat(d.after(Instant.parse("2026-12-03T15:00:00Z"))).isEqualTo(Instant.parse("2026-12-04T03:30:00Z"));
    BackupScheduler e = new BackupScheduler(plan("every 6h", null, null, null), dir, (x, y) -> null,
        java.time.Clock.systemUTC());
    assertThat(e.after(Instant.parse("2026-12-03T01:00:00Z"))).isEqualTo(Instant.parse("2026-12-03T07:00:00Z"));
    assertThat(plan("", null, null, null).enabled()).isFalse();
    // After a restart: from the last scheduled start in the status file, or soon when one was missed meanwhile.
    Instant now = Instant.parse("2026-12-03T15:00:00Z");
    assertThat(d.first(now)).isEqualTo(Instant.parse("2026-12-04T03:30:00Z")); // no status file
    Files.createDirectories(BackupScheduler.statusFile(dir).getParent());
    Files.writeString(BackupScheduler.statusFile(dir), "{\"started\":\"2026-12-03T13:00:00Z\",\"ok\":true}");
    e = new BackupScheduler(plan("every 6h", null, null, null), dir, (x, y) -> null, java.time.Clock.systemUTC());
    assertThat(e.first(now)).isEqualTo(Instant.parse("2026-12-03T19:00:00Z"));
    Files.writeString(BackupScheduler.statusFile(dir), "{\"started\":\"2026-12-01T03:30:00Z\",\"ok\":true}");
    d = new BackupScheduler(daily.plan(dir), dir, (x, y) -> null, java.time.Clock.systemUTC());
    assertThat(d.first(now)).isEqualTo(now.plusSeconds(60)); // the 2nd's and the 3rd's were missed
    assertThat(d.status().ok()).isTrue();
    assertThat(daily.folder(dir)).isEqualTo(dir.resolve("backup"));
    for (String bad : List.of("weekly", "daily 25:00", "every 0s", "every 5", "every 400d", "daily 3")) {
      Assertions.assertThatThrownBy(() -> plan(bad, null, null, null))
          .isInstanceOf(ConfigException.class).hasMessageStartingWith("backup.schedule: ");
    }
    Assertions.assertThatThrownBy(() -> plan("every 1h", null, 0, null))
        .hasMessage("backup.keep: 0 is out of range [1, 10000]");
  }
}
