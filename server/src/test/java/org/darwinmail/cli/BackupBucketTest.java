package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigException;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.s3.S3Client;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BackupScheduler;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.BucketBackup;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.S3Server;
import org.darwinmail.testing.Blobs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18: backups to an S3-compatible bucket ({@code s3://BUCKET/PREFIX}; store.BucketBackup) against a real S3 API
 * (S3Proxy on loopback, testing.S3Server): create, list, verify and restore through the CLI, only new bodies
 * uploaded by the next backup, a damaged object reported, a backup without its MANIFEST neither listed nor restored,
 * a newer release's backup refused, retention in the bucket.
 */
class BackupBucketTest {
  @TempDir
  Path dir;

  private final S3Server s3 = S3Server.shared();

  private static String[] run(String... args) {
    return CliTest.run("", args);
  }

  /** The CLI's configuration with [backup.s3] pointing at S3Proxy; {@code extra} appended. */
  private Path config(String extra) throws IOException {
    Path c = CliTest.config(dir);
    Files.writeString(c, Files.readString(c) + "[backup.s3]\nendpoint = \"" + s3.endpoint() + "\"\ncredentials_file = \""
        + s3.credentialsFile() + "\"\npath_style = true\n" + extra);
    return c;
  }


  /** Delivers {@code n} messages numbered from {@code from} to a@one.test's INBOX (the account made when absent). */
  private static void deliver(ServerConfig cfg, int from, int n) throws IOException {
    try (var s = DarwinMail.Services.open(cfg)) {
      if (s.directory().account("a@one.test").isEmpty()) {
        s.directory().addDomain("one.test");
        s.directory().addAccount("a@one.test", "a-password".toCharArray());
      }
      Account a = s.directory().account("a@one.test").orElseThrow();
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      for (int i = from; i < from + n; i++) {
        s.mail().deliver(List.of(inbox), Blobs.write(s.blobs(), "Subject: " + i + "\r\n\r\nbody " + i + "\r\n"
            + (i == 1 ? "x".repeat(300_000) : "")), Instant.now());
      }
    }
  }

  /** "uid bytes" of every message of a@one.test's INBOX. */
  private static List<String> contents(ServerConfig cfg) throws IOException {
    List<String> out = new ArrayList<>();
    try (var s = DarwinMail.Services.open(cfg)) {
      Account a = s.directory().account("a@one.test").orElseThrow();
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      for (MessageRow r : s.mail().messages(inbox)) {
        try (InputStream in = s.mail().open(r)) {
          out.add(r.uid() + " " + new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
    }
    return out;
  }

  /** The objects S3Proxy keeps under {@code bucket/prefix/sub} (one file per key). */
  private List<Path> objects(String bucket, String sub) throws IOException {
    Path root = s3.bucketFolder(bucket).resolve(sub);
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }

  private static String firstLine(String out) {
    return out.lines().findFirst().orElseThrow();
  }

  private static String sha256(String text) throws Exception {
    return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
        .digest(text.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void aBackupInABucketListsVerifiesAndRestoresAndTheNextUploadsOnlyNewBodies() throws Exception {
    String bucket = s3.newBucket();
    Path c = config("");
    ServerConfig cfg = ConfigLoader.load(c);
    deliver(cfg, 1, 5);
    List<String> before = contents(cfg);
    String dest = "s3://" + bucket + "/site/one";

    String[] made = run("--config", c.toString(), "backup", "create", dest);
    assertThat(made[0]).as(made[2]).isEqualTo("0");
    String location = firstLine(made[1]);
    assertThat(location).startsWith(dest + "/darwinmail-");
    assertThat(made[1]).contains("5 messages, 5 blobs (5 uploaded, 0 in the bucket already)");
    String name = location.substring(location.lastIndexOf('/') + 1);
    assertThat(objects(bucket, "site/one/blobs")).hasSize(5);
    assertThat(objects(bucket, "site/one/backups/" + name)).extracting(p -> p.getFileName().toString())
        .contains("MANIFEST", "service.properties");
    // Nothing staged stays on the data disk.
    assertThat(cfg.dataDir().resolve("backup").resolve(BucketBackup.STAGING)).doesNotExist();

    String[] list = run("--config", c.toString(), "backup", "list", dest);
    assertThat(list[0]).isEqualTo("0");
    assertThat(list[1]).startsWith(name + "\t").contains("5 messages\t5 blobs");

    String[] verified = run("--config", c.toString(), "verify", "--backup", location);
    assertThat(verified[0]).as(verified[1] + verified[2]).isEqualTo("0");
    assertThat(verified[1]).startsWith("OK: backup " + location + ": 5 messages");
    assertThat(run("--config", c.toString(), "backup", "verify", name, "--dir", dest)[0]).isEqualTo("0");
    // The download verify checked is gone, and was never a backup of the local folder.
    assertThat(Files.list(cfg.dataDir().resolve("backup")).map(p -> p.getFileName().toString()))
        .noneMatch(n -> n.startsWith(".bucket"));

    Path restored = dir.resolve("restored");
    String[] r = run("--config", c.toString(), "backup", "restore", name, "--dir", dest, "--to", restored.toString());
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).startsWith("restored " + name + " into " + restored + ": 5 messages");
    assertThat(Files.list(restored.getParent()).map(p -> p.getFileName().toString()))
        .noneMatch(n -> n.contains(".restore-")); // the download folder is gone
    ServerConfig restoredCfg = ServerConfig.defaults(restored);
    assertThat(contents(restoredCfg)).isEqualTo(before);
    Path rc = dir.resolve("restored.toml");
    Files.writeString(rc, Files.readString(c).replace("data_dir = \"var\"", "data_dir = \"restored\""));
    String[] v = run("--config", rc.toString(), "verify");
    assertThat(v[0]).as(v[1] + v[2]).isEqualTo("0");

    // The next backup: two new messages, two new bodies uploaded, the five others found by the listing.
    deliver(cfg, 6, 2);
    String[] again = run("--config", c.toString(), "backup", "create", dest);
    assertThat(again[0]).as(again[2]).isEqualTo("0");
    assertThat(again[1]).contains("7 messages, 7 blobs (2 uploaded, 5 in the bucket already)");
    assertThat(objects(bucket, "site/one/blobs")).hasSize(7);
    assertThat(run("--config", c.toString(), "backup", "list", dest)[1].lines()).hasSize(2);

    // The first backup restored over the data set (--replace): downloaded and checked beside it on the data disk.
    Path data = cfg.dataDir().toAbsolutePath();
    r = run("--config", c.toString(), "backup", "restore", location, "--to", data.toString(), "--replace");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).startsWith("restored " + name + " into " + data + ": 5 messages")
        .contains("the data set that was there is now in " + data + "/replaced-");
    assertThat(contents(cfg)).isEqualTo(before);
    assertThat(Files.list(data).map(p -> p.getFileName().toString()))
        .noneMatch(n -> n.contains("restore-staging") || n.contains(".restore-"))
        .anyMatch(n -> n.startsWith("replaced-"));
  }

  @Test
  void aDamagedObjectIsReportedByVerifyAndRefusedByRestore() throws Exception {
    String bucket = s3.newBucket();
    Path c = config("");
    ServerConfig cfg = ConfigLoader.load(c);
    deliver(cfg, 1, 3);
    String dest = "s3://" + bucket;
    String[] made = run("--config", c.toString(), "backup", "create", dest);
    assertThat(made[0]).as(made[2]).isEqualTo("0");
    String location = firstLine(made[1]);
    String hash = sha256("Subject: 2\r\n\r\nbody 2\r\n");
    Path object = objects(bucket, "blobs").stream().filter(p -> p.getFileName().toString().equals(hash))
        .findFirst().orElseThrow();
    Files.writeString(object, "Subject: 2\r\n\r\nbody X\r\n"); // same size, other bytes: bit rot in the bucket

    String[] v = run("--config", c.toString(), "verify", "--backup", location);
    assertThat(v[0]).isEqualTo("1");
    assertThat(v[1]).contains("blobs/" + hash.substring(0, 2) + "/" + hash + ": damaged")
        .contains("message UID 2 in a@one.test's INBOX: its body blobs/" + hash.substring(0, 2) + "/" + hash
            + " is damaged");
    assertThat(v[2]).startsWith("darwinmail: 2 problem(s) in the backup " + location);

    Path restored = dir.resolve("restored");
    String[] r = run("--config", c.toString(), "backup", "restore", location, "--to", restored.toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).isEqualTo("darwinmail: " + location + ": blobs/" + hash.substring(0, 2) + "/" + hash
        + " is damaged in the bucket (its SHA-256 is not the one in the MANIFEST); nothing restored\n");
    assertThat(restored).doesNotExist();
  }

  @Test
  void aBackupWithoutItsManifestIsNeitherListedNorRestored() throws Exception {
    String bucket = s3.newBucket();
    Path c = config("");
    ServerConfig cfg = ConfigLoader.load(c);
    deliver(cfg, 1, 2);
    String dest = "s3://" + bucket + "/p";
    String location = firstLine(run("--config", c.toString(), "backup", "create", dest)[1]);
    String name = location.substring(location.lastIndexOf('/') + 1);
    try (S3Client client = new S3Client(s3.settings(bucket))) {
      client.delete("p/backups/" + name + "/MANIFEST"); // as an upload killed before its last object
    }
    String[] list = run("--config", c.toString(), "backup", "list", dest);
    assertThat(list[0]).isEqualTo("0");
    assertThat(list[1]).isEmpty();
    Path restored = dir.resolve("restored");
    String[] r = run("--config", c.toString(), "backup", "restore", location, "--to", restored.toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).isEqualTo("darwinmail: " + location + " is not a backup (no MANIFEST: incomplete, never"
        + " restorable)\n");
    assertThat(restored).doesNotExist();
    String[] v = run("--config", c.toString(), "verify", "--backup", location);
    assertThat(v[0]).isEqualTo("1");
  }

  @Test
  void aBackupFromANewerReleaseIsRefusedBeforeAnythingIsDownloaded() throws Exception {
    String bucket = s3.newBucket();
    Path c = config("");
    ServerConfig cfg = ConfigLoader.load(c);
    deliver(cfg, 1, 2);
    String dest = "s3://" + bucket;
    String location = firstLine(run("--config", c.toString(), "backup", "create", dest)[1]);
    String name = location.substring(location.lastIndexOf('/') + 1);
    String key = "backups/" + name + "/MANIFEST";
    try (S3Client client = new S3Client(s3.settings(bucket))) {
      String text;
      try (InputStream in = client.get(key)) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      byte[] newer = text.replace("backup_format=1", "backup_format=2")
          .replaceFirst("written_by=[^\n]*", "written_by=9.0.0").getBytes(StandardCharsets.UTF_8);
      client.put(key, newer, MessageDigest.getInstance("SHA-256").digest(newer),
          MessageDigest.getInstance("MD5").digest(newer));
    }
    Path restored = dir.resolve("restored");
    String[] r = run("--config", c.toString(), "backup", "restore", location, "--to", restored.toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).isEqualTo("darwinmail: the backup " + location + " was written by Darwin Mail 9.0.0 in backup"
        + " format 2, this release reads up to 1; restore it with Darwin Mail 9.0.0 or newer\n");
    assertThat(restored).doesNotExist();
  }

  @Test
  void retentionDeletesUnkeptBackupsIncompleteUploadsAndBodiesNoKeptBackupNames() throws Exception {
    String bucket = s3.newBucket();
    Path c = config("");
    ServerConfig cfg = ConfigLoader.load(c);
    deliver(cfg, 1, 2);
    BucketBackup.Target t = cfg.backup().s3().target("s3://" + bucket + "/r");
    String orphan = sha256("an old body");
    try (S3Client client = new S3Client(s3.settings(bucket))) {
      byte[] b = "an old body".getBytes(StandardCharsets.UTF_8);
      client.put("r/blobs/" + orphan.substring(0, 2) + "/" + orphan, b, MessageDigest.getInstance("SHA-256")
          .digest(b), MessageDigest.getInstance("MD5").digest(b));
      client.put("r/backups/scheduled-19990101-000000/db/x", b, MessageDigest.getInstance("SHA-256").digest(b),
          MessageDigest.getInstance("MD5").digest(b)); // an upload killed before its MANIFEST
    }
    List<String> names = new ArrayList<>();
    try (var s = DarwinMail.Services.open(cfg)) {
      for (int i = 0; i < 3; i++) {
        BucketBackup.Uploaded u = BucketBackup.online(s.db(), s.mail(), s.blobs(), cfg.dataDir(), t, "scheduled",
            true, 2, 0);
        names.add(u.name());
        assertThat(u.deleted()).isEqualTo(i < 2 ? 0 : 1);
      }
    }
    assertThat(BucketBackup.list(t)).extracting(BucketBackup.Listed::name).containsExactly(names.get(1),
        names.get(2));
    assertThat(objects(bucket, "r/backups/" + names.get(0))).isEmpty();
    assertThat(objects(bucket, "r/backups/scheduled-19990101-000000")).isEmpty();
    assertThat(objects(bucket, "r/blobs")).extracting(p -> p.getFileName().toString()).hasSize(2)
        .doesNotContain(orphan);
  }

  @Test
  void scheduledBackupsGoToTheBucketAndKeepTheNewest() throws Exception {
    String bucket = s3.newBucket();
    Path c = config("[backup]\nschedule = \"every 2s\"\nfolder = \"s3://" + bucket + "/sched\"\nkeep = 1\n");
    ServerConfig cfg = ConfigLoader.load(c);
    deliver(cfg, 1, 2);
    BucketBackup.Target t = cfg.backup().s3().target("s3://" + bucket + "/sched");
    List<String> made = new ArrayList<>();
    try (var s = DarwinMail.Services.open(cfg);
        BackupScheduler sched = BackupScheduler.start(cfg.backup().plan(cfg.dataDir()), cfg.dataDir(), s.db(),
            s.mail(), s.blobs())) {
      long deadline = System.nanoTime() + 120_000_000_000L;
      while (made.size() < 2 && System.nanoTime() < deadline) {
        BackupScheduler.Status st = sched.status();
        if (st != null && (made.isEmpty() || !made.getLast().equals(st.backup()))) {
          assertThat(st.ok()).as(st.error()).isTrue();
          made.add(st.backup());
        }
        Thread.sleep(100);
      }
    }
    assertThat(made).hasSize(2).allMatch(b -> b.startsWith("s3://" + bucket + "/sched/scheduled-"));
    // keep = 1: the newest alone (a third one may have run before the scheduler stopped).
    List<String> kept = BucketBackup.list(t).stream().map(BucketBackup.Listed::location).toList();
    assertThat(kept).hasSize(1).doesNotContain(made.getFirst());
    String[] status = run("--config", c.toString(), "backup", "status");
    assertThat(status[1]).contains("into s3://" + bucket + "/sched, keeping 1", "last: OK at", kept.getFirst());
    assertThat(cfg.dataDir().resolve("backup").resolve(BucketBackup.STAGING)).doesNotExist();
  }

  /**
   * The throughput of a backup to the bucket: {@code -Ddarwin.bucketBackupMessages=10000} for the figure in the
   * README (300 by default, to keep the suite short). Each message is about 1 KB.
   */
  @Test
  void throughputOfABackupOfManySmallMessages() throws Exception {
    int n = Integer.getInteger("darwin.bucketBackupMessages", 300);
    String bucket = s3.newBucket();
    Path c = config("");
    ServerConfig cfg = ConfigLoader.load(c);
    try (var s = DarwinMail.Services.open(cfg)) {
      s.directory().addDomain("one.test");
      Account a = s.directory().addAccount("a@one.test", "a-password".toCharArray());
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      for (int i = 0; i < n; i++) {
        s.mail().deliver(List.of(inbox), Blobs.write(s.blobs(), "Subject: message " + i + "\r\n\r\n"
            + ("line " + i + " of a small message\r\n").repeat(30)), Instant.now());
      }
    }
    String[] made = run("--config", c.toString(), "backup", "create", "s3://" + bucket);
    assertThat(made[0]).as(made[2]).isEqualTo("0");
    assertThat(made[1]).contains(n + " messages, " + n + " blobs (" + n + " uploaded");
    System.out.println("bucket backup of " + n + " messages: " + made[1].lines().skip(1).findFirst().orElse(""));
    String[] again = run("--config", c.toString(), "backup", "create", "s3://" + bucket);
    assertThat(again[1]).contains("(0 uploaded, " + n + " in the bucket already)");
    System.out.println("next bucket backup, nothing new: " + again[1].lines().skip(1).findFirst().orElse(""));
  }

  @Test
  void aBucketDestinationNeedsItsEndpointAndKey() throws Exception {
    Path c = CliTest.config(dir);
    Files.writeString(c, Files.readString(c) + "[backup]\nschedule = \"daily 03:00\"\nfolder = \"s3://b-1/x\"\n");
    assertThatThrownBy(() -> ConfigLoader.load(c)).isInstanceOf(ConfigException.class)
        .hasMessageEndingWith("backup.folder: backups to s3://b-1/x need [backup.s3] endpoint and credentials_file in"
            + " the settings");
    String[] r = run("--config", CliTest.config(dir).toString(), "backup", "list", "s3://Bad_Bucket");
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).startsWith("darwinmail: \"s3://Bad_Bucket\": \"Bad_Bucket\" is not a bucket name");
  }
}
