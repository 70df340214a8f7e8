package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.darwinmail.DarwinMail;
import org.darwinmail.cli.Cli;
import org.darwinmail.cli.Main;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.PostgresCluster;
import org.darwinmail.testing.S3Server;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code darwinmail store migrate} (issue 20): a Derby data directory with every kind of row moved into PostgreSQL
 * and its bodies into S3 (S3Proxy), verified, and then served by the server on the target with the same UIDs,
 * UIDVALIDITY, flags and bytes over IMAP; a run stopped in the middle continued by the same command; a damaged
 * target named by its table; the way back into a new Derby directory; 10,000 messages timed (slow).
 */
class StoreMigrationTest {
  private static final Pattern LITERAL = Pattern.compile("^(\\* \\d+ FETCH .*)\\{(\\d+)\\}$");

  @TempDir
  Path tmp;

  /** A Derby store with domains, accounts, aliases, mailboxes, messages with flags and keywords, expunged UIDs, queue and guard rows. */
  private Path derbyStore(int extraMessages) throws Exception {
    Path dir = tmp.resolve("node");
    ServerConfig c = ServerConfig.defaults(dir).withHostname("mx.test").withListen(ListenConfig.ephemeral())
        .withStore(new org.darwinmail.config.StoreConfig(16L));
    String queued = null;
    try (DarwinMail m = DarwinMail.start(c)) {
      var s = m.services();
      s.directory().addDomain("a.test");
      s.directory().addDomain("b.test");
      Account one = s.directory().addAccount("one@a.test", "pw-one".toCharArray());
      Account two = s.directory().addAccount("two@b.test", "pw-two".toCharArray());
      s.directory().addAlias("all@a.test", List.of("one@a.test", "two@b.test"));
      long inbox1 = s.mail().mailboxId(one.id(), "INBOX").orElseThrow();
      long inbox2 = s.mail().mailboxId(two.id(), "INBOX").orElseThrow();
      long work = s.mail().createMailbox(one.id(), "Work/Projects ü", null).id();
      for (int i = 0; i < 12; i++) {
        BlobRef ref = store(s.blobs(), "message " + i, 300 + i * 50);
        s.mail().append(i % 3 == 0 ? work : inbox1, ref, Instant.parse("2026-01-02T03:04:05.123456Z").plusSeconds(i),
            i % 2 == 0 ? Flags.SEEN | Flags.FLAGGED : 0, i % 4 == 0 ? Set.of("$Work", "Later") : Set.of());
        queued = ref.hash();
      }
      s.mail().append(inbox2, store(s.blobs(), "for two", 2_000), Instant.now(), 0, Set.of());
      List<MessageRepository.NewMessage> many = new ArrayList<>();
      for (int i = 0; i < extraMessages; i++) {
        many.add(new MessageRepository.NewMessage(inbox2, store(s.blobs(), "bulk " + i, 400), Instant.now(),
            i % 5 == 0 ? Flags.SEEN : 0, Set.of()));
        if (many.size() == 500 || i == extraMessages - 1) {
          s.mail().appendAll(many);
          many.clear();
        }
      }
      // Over IMAP: an expunged UID (the expunged table), and a deleted subscribed mailbox (an orphan subscription).
      try (LineClient imap = new LineClient("127.0.0.1", m.port("imap"))) {
        imap.read();
        tagged(imap, "a LOGIN one@a.test pw-one");
        tagged(imap, "b CREATE Gone");
        tagged(imap, "c DELETE Gone");
        tagged(imap, "d SELECT INBOX");
        tagged(imap, "e UID STORE 3 +FLAGS (\\Deleted)");
        tagged(imap, "f EXPUNGE");
      }
    }
    // Queue and guard rows, written with the server stopped (its delivery engine would bounce the message: it is due in 2099).
    try (Database db = Database.open(dir)) {
      String q = queued;
      db.tx(conn -> {
        try (Statement st = conn.createStatement()) {
          st.executeUpdate("INSERT INTO queue_messages (sender, blob, size, smtputf8, account, created_at, warned)"
              + " VALUES ('one@a.test', '" + q + "', 850, 0, 'one@a.test', CURRENT_TIMESTAMP, 0)");
          st.executeUpdate("INSERT INTO queue_recipients (message_id, recipient, domain, attempts, next_attempt,"
              + " last_error) SELECT MAX(id), 'far@remote.test', 'remote.test', 2, TIMESTAMP('2099-01-01 00:00:00'), '451 later'"
              + " FROM queue_messages");
          st.executeUpdate("INSERT INTO sender_blocks VALUES ('two@b.test', CURRENT_TIMESTAMP, 'burst', 40, 90, 60)");
          st.executeUpdate("INSERT INTO sender_recipients VALUES ('one@a.test', 'far@remote.test', CURRENT_TIMESTAMP)");
          // sender_rates has three key columns: twelve rows make batches of 5 resume inside an account and a span
          for (int i = 0; i < 12; i++) {
            st.executeUpdate("INSERT INTO sender_rates VALUES ('" + (i < 8 ? "one@a.test" : "two@b.test") + "', "
                + (i % 2 == 0 ? 60 : 3600) + ", " + (1_000_000L * (i / 2)) + ", " + i + ", " + (2 * i) + ", 0)");
          }
        }
        return null;
      });
    }
    return dir;
  }

  private static BlobRef store(BlobStore blobs, String subject, int size) throws Exception {
    StringBuilder sb = new StringBuilder("From: a@example.test\r\nTo: one@a.test\r\nSubject: " + subject + "\r\n\r\n");
    for (int i = 0; sb.length() < size; i++) {
      sb.append("line ").append(i).append(" of ").append(subject).append("\r\n");
    }
    byte[] b = sb.toString().getBytes(StandardCharsets.UTF_8);
    return blobs.store(new BlobStore.Small(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)), b));
  }

  private static BlobStore.Small small(byte[] b) throws Exception {
    return new BlobStore.Small(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)), b);
  }

  /** The configuration files: the node's (Derby, files) and the target (PostgreSQL, the bucket). */
  private record Setup(Path node, Path source, Path target, String url, String bucket) {}

  private Setup setup(Path node) throws IOException {
    PostgresCluster pg = PostgresCluster.shared();
    S3Server s3 = S3Server.shared();
    String url = pg.newDatabase();
    String bucket = s3.newBucket();
    Path source = tmp.resolve("node.toml");
    Files.writeString(source, "data_dir = \"" + node + "\"\nhostname = \"mx.test\"\n[store]\ndisk_reserve_mb = 16\n");
    Path target = tmp.resolve("target.toml");
    Files.writeString(target, "data_dir = \"" + node + "\"\nhostname = \"mx.test\"\n[store]\ndisk_reserve_mb = 16\n"
        + "engine = \"postgresql\"\nurl = \"" + url + "\"\nuser = \"" + PostgresCluster.USER + "\"\npassword_file = \""
        + pg.passwordFile() + "\"\n[blobs]\nbackend = \"s3\"\nendpoint = \"" + s3.endpoint() + "\"\nbucket = \""
        + bucket + "\"\ncredentials_file = \"" + s3.credentialsFile() + "\"\npath_style = true\n");
    return new Setup(node, source, target, url, bucket);
  }

  private static String[] cli(Path config, String... args) {
    List<String> all = new ArrayList<>(List.of("--config", config.toString()));
    all.addAll(List.of(args));
    try (Cli cli = Cli.local()) {
      return Main.run(cli, "", all.toArray(String[]::new));
    }
  }

  @Test
  void aDerbyStoreMovesToPostgresqlAndS3AndIsServedTheSameOverImapThenComesBack() throws Exception {
    Setup s = setup(derbyStore(0));
    ServerConfig before = ConfigLoader.load(s.source()).withListen(ListenConfig.ephemeral());
    List<String> seen;
    try (DarwinMail m = DarwinMail.start(before)) {
      seen = imapView(m.port("imap"));
    }

    String[] r = cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString());
    assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");
    assertThat(r[1]).contains("verified: " + StoreMigration.TABLES.size() + " tables and 12 bodies checked").contains("engine = \"postgresql\"")
        .contains("backend = \"s3\"").contains("messages: 12 rows");
    assertThat(Files.readString(s.node().resolve("blobs/location"))).startsWith("s3 ");

    ServerConfig after = ConfigLoader.load(s.target()).withListen(ListenConfig.ephemeral());
    try (DarwinMail m = DarwinMail.start(after)) {
      assertThat(m.services().db().dialect()).isEqualTo(SqlDialect.POSTGRESQL);
      sameView(imapView(m.port("imap")), seen);
      // New ids and UIDs continue past the copied ones.
      long inbox = m.services().mail().mailboxId(m.services().directory().account("one@a.test").orElseThrow().id(),
          "INBOX").orElseThrow();
      BlobRef ref = m.services().blobs().store(small("Subject: new\r\n\r\nx\r\n".getBytes(StandardCharsets.UTF_8)));
      MessageRow row = m.services().mail().append(inbox, ref, Instant.now(), 0, Set.of());
      assertThat(row.uid()).isGreaterThan(m.services().mail().messages(inbox).stream()
          .filter(x -> x.uid() != row.uid()).mapToLong(MessageRow::uid).max().orElseThrow());
      seen = imapView(m.port("imap"));
      m.services().directory().addDomain("c.test"); // the identity of domains restarted past the copied ids
    }

    // The way back: PostgreSQL and the bucket into a new Derby data directory, served the same.
    Path back = tmp.resolve("back");
    Path backToml = tmp.resolve("back.toml");
    Files.writeString(backToml, "data_dir = \"" + back + "\"\nhostname = \"mx.test\"\n[store]\ndisk_reserve_mb = 16\n");
    String[] b = cli(s.target(), "store", "migrate", "--to", "derby", "--target", backToml.toString());
    assertThat(b[0]).as(b[1] + b[2]).isEqualTo("0");
    assertThat(b[1]).contains("verified: " + StoreMigration.TABLES.size() + " tables").contains("data_dir = \"" + back + "\"");
    try (DarwinMail m = DarwinMail.start(ConfigLoader.load(backToml).withListen(ListenConfig.ephemeral()))) {
      sameView(imapView(m.port("imap")), seen);
      m.services().directory().addDomain("d.test");
    }
  }

  @Test
  void aRunStoppedInTheMiddleIsContinuedByTheSameCommandAndAnotherSourceIsRefused() throws Exception {
    Setup s = setup(derbyStore(30));
    S3Server s3 = S3Server.shared();
    try (StoreMigration.Side from = StoreMigration.open(s.node(), null, null, null, null, 0, s.node());
        StoreMigration.Side into = StoreMigration.open(s.node(), s.url(), PostgresCluster.USER,
            PostgresCluster.shared().passwordFile(), s3.settings(s.bucket()), 1 << 20, s.node())) {
      StoreMigration m = new StoreMigration(from, into, line -> {});
      m.batch = 7;
      int[] batches = {0};
      m.afterBatch = table -> {
        if (table.equals("messages") && ++batches[0] == 2) {
          throw new IllegalStateException("stopped");
        }
      };
      assertThatThrownBy(m::migrate).hasMessage("stopped");
      assertThat(m.done()).isFalse();
      assertThat(count(s.url(), "messages")).isEqualTo(14);
    }
    String[] r = cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString(),
        "--batch", "5");
    assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");
    assertThat(r[1]).contains("messages: 42 rows (28 in this run)").contains("sender_rates: 12 rows")
        .contains("verified");
    assertThat(count(s.url(), "messages")).isEqualTo(42);

    // Run again: nothing left to copy, verified again.
    String[] again = cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString());
    assertThat(again[0]).as(again[1] + again[2]).isEqualTo("0");
    assertThat(again[1]).contains("copied 0 rows and 0 bodies (42 already there)");

    // Another data directory into the same database: refused, naming the source it holds.
    Path other = tmp.resolve("other");
    Files.createDirectories(other);
    Path otherToml = tmp.resolve("other.toml");
    Files.writeString(otherToml, "data_dir = \"" + other + "\"\n");
    try (DarwinMail m = DarwinMail.start(ConfigLoader.load(otherToml).withListen(ListenConfig.ephemeral()))) {
      m.services().directory().addDomain("x.test");
    }
    Path otherTarget = tmp.resolve("other-target.toml");
    Files.writeString(otherTarget, Files.readString(s.target()).replace(s.node().toString(), other.toString()));
    String[] refused = cli(otherToml, "store", "migrate", "--to", "postgresql", "--target", otherTarget.toString());
    assertThat(refused[0]).isEqualTo("1");
    assertThat(refused[2]).contains("holds data migrated from another store").contains("derby " + s.node());
  }

  @Test
  @Tag("slow") // the command in a JVM of its own, SIGKILLed: `make test` (test-slow)
  void aMigrationKilledInTheMiddleIsCompletedByTheSameCommand() throws Exception {
    Setup s = setup(derbyStore(400));
    List<String> command = List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
        System.getProperty("java.class.path"), "org.darwinmail.cli.Main", "--config", s.source().toString(), "store",
        "migrate", "--to", "postgresql", "--target", s.target().toString(), "--batch", "5");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(tmp.resolve("run1.txt").toFile())
        .start();
    long copied = 0;
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (copied == 0 && p.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(10);
      copied = progress(s.url(), "messages");
    }
    p.destroyForcibly(); // SIGKILL
    p.waitFor();
    assertThat(copied).as(Files.readString(tmp.resolve("run1.txt"))).isPositive();
    long before = count(s.url(), "messages");
    assertThat(before).isLessThan(413);

    String[] r = cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString(),
        "--batch", "5");
    assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");
    assertThat(r[1]).contains("messages: 412 rows (" + (412 - before) + " in this run)")
        .contains("bodies (412 already there)").contains("verified: " + StoreMigration.TABLES.size() + " tables and 412 bodies");
    assertThat(count(s.url(), "messages")).isEqualTo(412);
    System.out.println("killed after " + before + " message rows; the second run: " + line(r[1], "copied "));
  }

  /** The rows of {@code table} the migration record says are copied (0 before its first batch). */
  private static long progress(String url, String table) {
    try (Connection c = connect(url); java.sql.PreparedStatement ps = c.prepareStatement("SELECT copied FROM "
        + StoreMigration.RECORD + " WHERE tbl = ?")) {
      ps.setString(1, table);
      try (var r = ps.executeQuery()) {
        return r.next() ? r.getLong(1) : 0;
      }
    } catch (Exception e) {
      return 0; // no record table yet
    }
  }

  @Test
  void aDamagedTargetFailsVerificationNamingTheTable() throws Exception {
    Setup s = setup(derbyStore(0));
    assertThat(cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString())[0])
        .isEqualTo("0");
    String[] ok = cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString(),
        "--verify-only");
    assertThat(ok[0]).as(ok[1] + ok[2]).isEqualTo("0");
    sql(s.url(), "DELETE FROM aliases WHERE target = 'two@b.test'");
    sql(s.url(), "UPDATE messages SET flags = 0 WHERE uid = 1");
    String[] r = cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString(),
        "--verify-only");
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[1]).contains("table aliases: 2 rows in the source, 1 in the target")
        .contains("table messages: the rows differ");
    assertThat(r[2]).contains("2 difference(s)");
    // A body gone from the bucket is named too.
    String hash = firstBlob(s.url());
    Files.delete(S3Server.shared().bucketFolder(s.bucket()).resolve(hash));
    String[] gone = cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString(),
        "--verify-only");
    assertThat(gone[1]).contains("body " + hash + ": missing in the target");
  }

  @Test
  void aRunningServerIsRefusedInOneLine() throws Exception {
    Setup s = setup(derbyStore(0));
    try (DarwinMail m = DarwinMail.start(ConfigLoader.load(s.source()).withListen(ListenConfig.ephemeral()));
        Cli inside = Cli.inside(m)) {
      String[] r = Main.run(inside, "", "--config", s.source().toString(), "store", "migrate", "--to", "postgresql",
          "--target", s.target().toString());
      assertThat(r[0]).isEqualTo("1");
      assertThat(r[2].strip()).startsWith("darwinmail: the server is running on " + s.node()).doesNotContain("\n");
    }
  }

  @Test
  @Tag("slow") // 10,000 messages into PostgreSQL and S3Proxy: `make test` (test-slow)
  void tenThousandMessagesAreMigratedAndVerified() throws Exception {
    Setup s = setup(derbyStore(10_000 - 12));
    long t0 = System.nanoTime();
    String[] r = cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString());
    long t1 = System.nanoTime();
    assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");
    assertThat(r[1]).contains("messages: 10000 rows");
    String[] v = cli(s.source(), "store", "migrate", "--to", "postgresql", "--target", s.target().toString(),
        "--verify-only");
    long t2 = System.nanoTime();
    assertThat(v[0]).as(v[1] + v[2]).isEqualTo("0");
    System.out.printf("store migrate, 10,000 messages: migration and verification %.1f s (%s), --verify-only %.1f s"
        + " (%s)%n", (t1 - t0) / 1e9, line(r[1], "copied ") + "; " + line(r[1], "verified"), (t2 - t1) / 1e9,
        line(v[1], "verified"));
  }

  /** The first line that differs, rather than two whole mailboxes. */
  private static void sameView(List<String> got, List<String> expected) {
    for (int i = 0; i < Math.min(got.size(), expected.size()); i++) {
      assertThat(got.get(i)).as("line " + i).isEqualTo(expected.get(i));
    }
    assertThat(got).hasSameSizeAs(expected);
  }

  private static String line(String out, String prefix) {
    return out.lines().filter(l -> l.startsWith(prefix) && l.matches(".* in [0-9.]+ s\\)?$"))
        .reduce((a, b) -> a + "; " + b).orElse("");
  }

  /** Every account's mailboxes as IMAP shows them: UIDVALIDITY, and each message's UID, flags and bytes. */
  private static List<String> imapView(int port) throws IOException {
    List<String> out = new ArrayList<>();
    for (String[] who : new String[][] {{"one@a.test", "pw-one"}, {"two@b.test", "pw-two"}}) {
      try (LineClient c = new LineClient("127.0.0.1", port)) {
        c.read();
        tagged(c, "a LOGIN " + who[0] + " " + who[1]);
        for (String mailbox : List.of("INBOX", "\"Work/Projects &APw-\"")) {
          c.send("b SELECT " + mailbox);
          String l;
          while (!(l = c.read()).startsWith("b ")) {
            if (l.contains("UIDVALIDITY") || l.contains("EXISTS")) {
              out.add(who[0] + " " + mailbox + " " + l);
            }
          }
          if (!l.startsWith("b OK")) {
            continue;
          }
          c.send("c UID FETCH 1:* (UID FLAGS BODY.PEEK[])");
          while (!(l = c.read()).startsWith("c ")) {
            Matcher m = LITERAL.matcher(l);
            if (m.matches()) {
              byte[] body = c.readBytes(Integer.parseInt(m.group(2)));
              // \Recent belongs to the session that saw the message first (RFC 3501 §2.3.2), not to the store.
              out.add(m.group(1).replace(" \\Recent", "").replace("(\\Recent)", "()")
                  + new String(body, StandardCharsets.UTF_8) + c.read());
            }
          }
        }
      }
    }
    return out;
  }

  private static void tagged(LineClient c, String command) throws IOException {
    String tag = command.substring(0, command.indexOf(' '));
    c.send(command);
    String l;
    while (!(l = c.read()).startsWith(tag + " ")) {
      // untagged
    }
    assertThat(l).startsWith(tag + " OK");
  }

  private static Connection connect(String url) throws Exception {
    PostgresCluster pg = PostgresCluster.shared();
    return DriverManager.getConnection(url, PostgresCluster.USER, pg.password());
  }

  private static long count(String url, String table) throws Exception {
    try (Connection c = connect(url); Statement s = c.createStatement();
        var r = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
      r.next();
      return r.getLong(1);
    }
  }

  private static void sql(String url, String statement) throws Exception {
    try (Connection c = connect(url); Statement s = c.createStatement()) {
      s.executeUpdate(statement);
    }
  }

  private static String firstBlob(String url) throws Exception {
    try (Connection c = connect(url); Statement s = c.createStatement();
        var r = s.executeQuery("SELECT blob FROM messages ORDER BY id")) {
      r.next();
      return r.getString(1);
    }
  }
}
