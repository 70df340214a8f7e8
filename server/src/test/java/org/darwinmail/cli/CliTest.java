package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.ControlServer;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The administration commands (ARCHITECTURE.md, "The CLI and the control socket"): exit statuses, and working whether
 * or not the server runs.
 */
class CliTest {
  @TempDir
  Path dir;

  private Path config() throws IOException {
    return config(dir);
  }

  /** A configuration in {@code dir} with data in {@code dir/var} and SMTP alone, on port 0. */
  static Path config(Path dir) throws IOException {
    Path c = dir.resolve("darwinmail.toml");
    Files.writeString(c, "hostname = \"cli.test\"\ndata_dir = \"var\"\n[listen]\nsmtp = \"127.0.0.1:0\"\n"
        + "submission = \"\"\nsubmissions = \"\"\nimap = \"\"\nimaps = \"\"\npop3 = \"\"\npop3s = \"\"\nadmin = \"\"\n");
    return c;
  }

  static String[] run(String stdin, String... args) {
    try (Cli cli = Cli.local()) {
      return Main.run(cli, stdin, args);
    }
  }

  @Test
  void commandsWithoutARunningServerAndTheirExitStatuses() throws Exception {
    String c = config().toString();
    assertThat(run("", "--config", c, "domain", "add", "cli.test")[0]).isEqualTo("0");
    String[] dup = run("", "--config", c, "domain", "add", "cli.test");
    assertThat(dup[0]).isEqualTo("1");
    assertThat(dup[2]).isEqualTo("darwinmail: domain exists: cli.test\n");
    assertThat(run("s3cret-pw\n", "--config", c, "user", "add", "Ann@cli.test", "--password-stdin")[0]).isEqualTo("0");
    assertThat(run("", "--config", c, "user", "add", "bob@cli.test", "--password-stdin")[2])
        .contains("no password on standard input");
    assertThat(run("", "--config", c, "alias", "add", "all@cli.test", "ann@cli.test")[0]).isEqualTo("0");
    assertThat(run("", "--config", c, "alias", "list")[1]).isEqualTo("all@cli.test -> ann@cli.test\n");
    assertThat(run("", "--config", c, "user", "list")[1]).startsWith("ann@cli.test\tused=0\tquota=none");
    assertThat(run("", "--config", c, "user", "quota", "ann@cli.test", "2G")[0]).isEqualTo("0");
    assertThat(run("", "--config", c, "user", "list")[1]).contains("quota=2147483648");
    // Usage errors: 2.
    assertThat(run("", "--config", c, "domain", "frobnicate")[0]).isEqualTo("2");
    assertThat(run("", "--config", c, "user", "add")[0]).isEqualTo("2");
    // A configuration error: 1, naming the key.
    Path bad = dir.resolve("bad.toml");
    Files.writeString(bad, "[smtp]\nmax_recipientz = 1\n");
    String[] r = run("", "--config", bad.toString(), "domain", "list");
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).contains("max_recipientz");
  }

  /** Issue 23: `domain list` on a fresh configuration created the data directory. */
  @Test
  void readOnlyCommandsOnAMissingDataDirectoryCreateNothingAndSaySo() throws Exception {
    String c = config().toString();
    Path data = dir.resolve("var");
    for (String[] cmd : List.of(new String[] {"domain", "list"}, new String[] {"user", "list"},
        new String[] {"alias", "list"}, new String[] {"queue", "list"}, new String[] {"sender", "blocked"})) {
      String[] r = run("", java.util.stream.Stream.concat(java.util.stream.Stream.of("--config", c),
          java.util.Arrays.stream(cmd)).toArray(String[]::new));
      assertThat(r[0]).as(String.join(" ", cmd)).isEqualTo("0");
      assertThat(r[1]).isEmpty();
      assertThat(r[2]).isEqualTo("darwinmail: no data yet in " + data + " (nothing has been added)\n");
      assertThat(data).as(String.join(" ", cmd)).doesNotExist();
    }
    String[] dns = run("", "--config", c, "domain", "dns", "example.test");
    assertThat(dns[0]).isEqualTo("1");
    assertThat(dns[2]).isEqualTo("darwinmail: no such domain: example.test\n");
    assertThat(data).doesNotExist();
  }

  /**
   * Issue 23: a data directory that exists but cannot be written stopped the start with 87-368 lines of Derby
   * stack trace, the cause not in the last line. Now one line names the folder and the cause, exit status 1, for a
   * command and for {@code serve}. The directory is made read-only by a read-only bind mount (root ignores
   * permissions; the tests run as root, as in CI).
   */
  @Test
  void aDataDirectoryThatCannotBeWrittenStopsTheStartWithOneLine() throws Exception {
    String c = config().toString();
    assertThat(run("", "--config", c, "domain", "add", "one.test")[0]).isEqualTo("0");
    Path data = dir.resolve("var");
    sh("mount", "--bind", data.toString(), data.toString());
    try {
      sh("mount", "-o", "remount,ro,bind", data.toString());
      for (String[] cmd : List.of(new String[] {"domain", "add", "two.test"}, new String[] {"serve"})) {
        String[] r = run("", java.util.stream.Stream.concat(java.util.stream.Stream.of("--config", c),
            java.util.Arrays.stream(cmd)).toArray(String[]::new));
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[2]).isEqualTo("darwinmail: cannot write to " + data + ": read-only file system\n");
      }
    } finally {
      sh("umount", "-l", data.toString()); // lazily: a database left open by a failed start keeps it busy
    }
  }

  private static void sh(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
  }

  /** Issue 23: some errors showed Java class names ("darwinmail: java.lang.IllegalStateException: cannot listen..."). */
  @Test
  void anUnexpectedErrorIsOneLineWithoutAJavaClassName() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Path c = dir.resolve("taken.toml");
      Files.writeString(c, "hostname = \"cli.test\"\ndata_dir = \"var\"\n[listen]\nsmtp = \"127.0.0.1:"
          + taken.getLocalPort() + "\"\nsubmission = \"\"\nsubmissions = \"\"\nimap = \"\"\nimaps = \"\"\npop3 = \"\"\n"
          + "pop3s = \"\"\nadmin = \"\"\n");
      String[] r = run("", "--config", c.toString(), "serve");
      assertThat(r[0]).isEqualTo("1");
      assertThat(r[2]).startsWith("darwinmail: cannot listen for smtp on 127.0.0.1:" + taken.getLocalPort())
          .doesNotContain("java.", "Exception").hasLineCount(1);
    }
  }

  /** Issue 23: derby.log was overwritten at each start; it is appended to. */
  @Test
  void derbyLogKeepsWhatEarlierStartsWrote() throws Exception {
    Path c = config();
    for (String domain : List.of("one.test", "two.test")) {
      Process p = cli(c, "domain", "add", domain);
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as(stderr(p)).isZero();
    }
    String log = Files.readString(dir.resolve("var").resolve("derby.log"));
    assertThat(log.split("Booting Derby version", -1)).as(log).hasSize(3);
  }

  @Test
  void namesThatAreNotMailAddressesOrDomainsAreRefusedWithTheReason() throws Exception {
    String c = config().toString();
    assertThat(run("", "--config", c, "domain", "add", "ok.test")[0]).isEqualTo("0");
    String[][] refused = {
        run("", "--config", c, "domain", "add", "[127.0.0.1]"),
        run("", "--config", c, "domain", "add", "127.0.0.1"),
        run("", "--config", c, "domain", "add", "bad_name.test"),
        run("", "--config", c, "domain", "add", "x-.test"),
        run("", "--config", c, "domain", "add", "a..test"),
        run("", "--config", c, "domain", "add", "x".repeat(64) + ".test"),
        run("", "--config", c, "domain", "add", ("abcdefghi.").repeat(26) + "test"),
        run("pw-12345\n", "--config", c, "user", "add", "a b@ok.test", "--password-stdin"),
        run("pw-12345\n", "--config", c, "user", "add", "x@@ok.test", "--password-stdin"),
        run("pw-12345\n", "--config", c, "user", "add", "\"q u\"@ok.test", "--password-stdin"),
        run("pw-12345\n", "--config", c, "user", "add", ".dot@ok.test", "--password-stdin"),
        run("pw-12345\n", "--config", c, "user", "add", "a..b@ok.test", "--password-stdin"),
        run("pw-12345\n", "--config", c, "user", "add", "x".repeat(65) + "@ok.test", "--password-stdin"),
        run("pw-12345\n", "--config", c, "user", "add", "u@[127.0.0.1]", "--password-stdin"),
        run("", "--config", c, "alias", "add", "a b@ok.test", "x@elsewhere.test"),
        run("", "--config", c, "alias", "add", "ok@ok.test", "x@@elsewhere.test")};
    for (String[] r : refused) {
      assertThat(r[0]).as(r[2]).isEqualTo("1");
      assertThat(r[2]).matches("darwinmail: not a (domain name|mail address): .*\\n");
    }
    assertThat(run("", "--config", c, "domain", "list")[1]).isEqualTo("ok.test\n");
    assertThat(run("", "--config", c, "user", "list")[1]).isEmpty();
    // U-labels are stored as A-labels (IDNA); trailing dots and case do not matter
    assertThat(run("", "--config", c, "domain", "add", "Bücher.Test.")[0]).isEqualTo("0");
    assertThat(run("pw-12345\n", "--config", c, "user", "add", "o'brien+x@bücher.test", "--password-stdin")[0])
        .isEqualTo("0");
    assertThat(run("", "--config", c, "user", "list")[1]).startsWith("o'brien+x@xn--bcher-kva.test");
  }

  @Test
  void removingAnAliasTargetItDoesNotHaveSaysSo() throws Exception {
    String c = config().toString();
    run("", "--config", c, "domain", "add", "cli.test");
    run("", "--config", c, "alias", "add", "all@cli.test", "ann@cli.test", "bob@cli.test");
    String[] r = run("", "--config", c, "alias", "remove", "all@cli.test", "carol@cli.test");
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).isEqualTo("darwinmail: alias all@cli.test does not point at carol@cli.test (its targets: "
        + "ann@cli.test, bob@cli.test)\n");
    assertThat(run("", "--config", c, "alias", "remove", "none@cli.test")[2])
        .isEqualTo("darwinmail: no such alias: none@cli.test\n");
  }

  @Test
  void queueListShowsTheIdTheSmtpReplyGave() throws Exception {
    Path c = config();
    run("", "--config", c.toString(), "domain", "add", "cli.test");
    String hash = "3fa2b1c9d0e1" + "0".repeat(52);
    try (DarwinMail.Services s = DarwinMail.Services.open(ConfigLoader.load(c))) {
      s.queue().add("ann@cli.test", List.of("x@remote.test"), hash, 10, false,
          "ann@cli.test");
    }
    String out = run("", "--config", c.toString(), "queue", "list")[1];
    // "250 2.0.0 OK queued as 3fa2b1c9d0e1" named this message; the list shows that id beside its own
    assertThat(out).matches("(?s)\\d+  queued as 3fa2b1c9d0e1  .*<ann@cli.test>  10 bytes.*x@remote.test.*");
  }

  /**
   * `darwinmail mta-sts`: the policies outbound delivery cached, the TLS report counts and the reports sent, as
   * stored (V016, V017).
   */
  @Test
  void mtaStsShowsTheCachedPoliciesAndTheTlsReportCounts() throws Exception {
    Path c = config();
    run("", "--config", c.toString(), "domain", "add", "cli.test");
    assertThat(run("", "--config", c.toString(), "mta-sts")[1]).isEqualTo("No MTA-STS policy cached.\n"
        + "No TLS session to a domain with a policy in the last 7 day(s).\n"
        + "No TLS report (RFC 8460) about the last 7 day(s).\n");
    java.time.Instant t = java.time.Instant.parse("2026-11-02T08:00:00Z");
    java.time.LocalDate today = java.time.LocalDate.now(java.time.ZoneOffset.UTC);
    try (DarwinMail.Services s = DarwinMail.Services.open(ConfigLoader.load(c))) {
      var repo = s.delivery().mtaSts();
      repo.save(new org.darwinmail.store.MtaStsRepository.Stored("remote.test", "20261102", "enforce",
          List.of("mx.remote.test", "*.backup.remote.test"), 86400, t, t.plusSeconds(86400)));
      repo.count(today, "remote.test", "success", 1);
      repo.count(today, "remote.test", "success", 2);
      repo.count(today, "remote.test", "certificate-host-mismatch", 1);
      repo.count(today.minusDays(30), "remote.test", "success", 5);
      repo.claimReport(today.minusDays(1), "remote.test", "r1", t, "node");
      repo.reportDone(today.minusDays(1), "remote.test", "mailto:tlsrpt@remote.test",
          "mailto:tlsrpt@remote.test queued");
      repo.claimReport(today.minusDays(1), "other.test", "r2", t, "node");
      repo.reportDone(today.minusDays(1), "other.test", "", "not sent: no v=TLSRPTv1 record");
    }
    String[] r = run("", "--config", c.toString(), "mta-sts");
    assertThat(r[0]).isEqualTo("0");
    assertThat(r[1]).isEqualTo("Policies cached:\n"
        + "  remote.test  id 20261102  enforce  mx mx.remote.test *.backup.remote.test  fetched 2026-11-02T08:00:00Z"
        + "  expires 2026-11-03T08:00:00Z\n"
        + "TLS report counts (UTC days):\n"
        + "  " + today + "  remote.test  certificate-host-mismatch  1\n"
        + "  " + today + "  remote.test  success  3\n"
        + "TLS reports (UTC day reported, domain, destinations, result):\n"
        + "  " + today.minusDays(1) + "  other.test  -  not sent: no v=TLSRPTv1 record\n"
        + "  " + today.minusDays(1) + "  remote.test  mailto:tlsrpt@remote.test  mailto:tlsrpt@remote.test queued\n");
    assertThat(run("", "--config", c.toString(), "mta-sts", "--days", "31")[1]).contains("success  5");
    assertThat(run("", "--config", c.toString(), "mta-sts", "--days", "0")[0]).isEqualTo("2");
  }

  /** Issue 17: `darwinmail trace` reads the delivery trace the console reads, newest first; bad input is a usage error. */
  @Test
  void traceShowsTheStoredEventsOfAMessage() throws Exception {
    Path c = config();
    run("", "--config", c.toString(), "domain", "add", "cli.test");
    try (DarwinMail.Services s = DarwinMail.Services.open(ConfigLoader.load(c))) {
      java.time.Instant t = java.time.Instant.parse("2026-11-02T08:00:00Z");
      s.trace().repository().add(List.of(
          new org.darwinmail.store.TraceRepository.Event(t, "queued", 5, "<m5@cli.test>", "ann@cli.test",
              "x@remote.test", "192.0.2.1", 10, "", "received from 192.0.2.1"),
          new org.darwinmail.store.TraceRepository.Event(t.plusSeconds(60), "deferred", 5, "", "ann@cli.test",
              "x@remote.test", "", 0, "mx.remote.test", "451 4.3.0 <b>later</b>")));
    }
    String[] r = run("", "--config", c.toString(), "trace", "<M5@cli.test>");
    assertThat(r[0]).isEqualTo("0");
    assertThat(r[1]).isEqualTo("2026-11-02T08:01:00Z  5  deferred  x@remote.test  remote mx.remote.test  451 4.3.0"
        + " <b>later</b>\n2026-11-02T08:00:00Z  5  queued  x@remote.test  <m5@cli.test>  client 192.0.2.1  10 bytes"
        + "  received from 192.0.2.1\n");
    assertThat(run("", "--config", c.toString(), "trace", "x@remote.test", "--limit", "1")[1])
        .contains("deferred").doesNotContain("queued").contains("(older events: --offset 1)");
    assertThat(run("", "--config", c.toString(), "trace", "6")[1]).isEqualTo("No event recorded for 6.\n");
    assertThat(run("", "--config", c.toString(), "trace", "5", "--limit", "0")[0]).isEqualTo("2");
  }

  @Test
  void aRunningServerExecutesCommandsForASeparateProcess() throws Exception {
    Path c = config();
    try (DarwinMail server = DarwinMail.start(TestServer.prepare(ConfigLoader.load(c)));
        ControlServer control = ControlServer.start(server.config().dataDir(), Cli.controlHandler(server))) {
      Process p = cli(c, "domain", "add", "live.test");
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as(stderr(p)).isZero();
      assertThat(server.services().directory().domains()).contains("live.test");

      Process u = cli(c, "user", "add", "eve@live.test", "--password-stdin");
      u.getOutputStream().write("eve-password\n".getBytes(StandardCharsets.UTF_8));
      u.getOutputStream().close();
      assertThat(u.waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(u.exitValue()).as(stderr(u)).isZero();
      assertThat(server.services().directory().authenticate("eve@live.test", "eve-password".toCharArray())).isPresent();

      Process bad = cli(c, "user", "remove", "nobody@live.test");
      assertThat(bad.waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(bad.exitValue()).isEqualTo(1);
      assertThat(stderr(bad)).isEqualTo("darwinmail: no such account: nobody@live.test\n");
    }
  }

  /**
   * Issue 22: a command sent to a running server is answered without the client loading what the server runs
   * (Netty, Derby and its pool, the logging, Jackson: the configuration's data_dir is read by ConfigPaths' scan); the
   * class-loading log of the client process is what says so.
   */
  @Test
  void aCommandForTheRunningServerLoadsNoneOfTheServersClasses() throws Exception {
    Path c = config();
    run("", "--config", c.toString(), "domain", "add", "light.test");
    Path classLog = dir.resolve("classes.log");
    try (DarwinMail server = DarwinMail.start(TestServer.prepare(ConfigLoader.load(c)));
        ControlServer control = ControlServer.start(server.config().dataDir(), Cli.controlHandler(server))) {
      Process p = cli(c, List.of("-Xlog:class+load=info:file=" + classLog), "domain", "list");
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.exitValue()).as(stderr(p)).isZero();
      assertThat(out).isEqualTo("light.test\n");
    }
    List<String> loaded = Files.readAllLines(classLog).stream()
        .map(l -> l.replaceFirst("^\\[[^]]*\\]\\[[^]]*\\]\\[[^]]*\\] (\\S+) .*$", "$1")).toList();
    assertThat(loaded).contains("org.darwinmail.cli.ControlClient");
    assertThat(loaded).noneMatch(n -> n.startsWith("io.netty.") || n.startsWith("org.apache.derby.")
        || n.startsWith("ch.qos.logback.") || n.startsWith("com.zaxxer.") || n.startsWith("tools.jackson."));
    // Sent as typed (TypedLine): picocli's model of every command is built by the server, not by the client (which
    // loads only the exceptions Main catches, for the verifier).
    assertThat(loaded).noneMatch(n -> n.equals("picocli.CommandLine") || n.startsWith("picocli.CommandLine$Model"));
  }

  /** Issue 22: {@code --version} and {@code --help} start neither the server's settings nor the logging. */
  @Test
  void versionAndHelpLoadNoLogging() throws Exception {
    for (String option : List.of("--version", "--help")) {
      Path classLog = dir.resolve("classes" + option + ".log");
      List<String> cmd = new java.util.ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
          "-Xlog:class+load=info:file=" + classLog, "-cp", System.getProperty("java.class.path"),
          "org.darwinmail.cli.Main", option));
      Process p = new ProcessBuilder(cmd).start();
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.exitValue()).as(stderr(p)).isZero();
      assertThat(out).contains(option.equals("--version") ? "Darwin Mail " + org.darwinmail.release.Release.VERSION + "\n"
          : "Usage: darwinmail");
      List<String> loaded = Files.readAllLines(classLog).stream()
          .map(l -> l.replaceFirst("^\\[[^]]*\\]\\[[^]]*\\]\\[[^]]*\\] (\\S+) .*$", "$1")).toList();
      assertThat(loaded).as(option).contains("org.darwinmail.cli.Main")
          .noneMatch(n -> n.startsWith("ch.qos.logback.") || n.startsWith("org.slf4j."));
      if (option.equals("--version")) {
        assertThat(loaded).noneMatch(n -> n.equals("picocli.CommandLine") || n.startsWith("org.darwinmail.config."));
      }
    }
  }

  @Test
  void withoutTheControlSocketASecondProcessGetsAClearError() throws Exception {
    Path c = config();
    try (DarwinMail server = DarwinMail.start(TestServer.prepare(ConfigLoader.load(c)))) {
      // It waits for a starting server first (300 s unless told): told 2 s here.
      Process p = cli(c, java.util.Map.of("DARWINMAIL_START_WAIT", "2"), List.of(), "domain", "list");
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isEqualTo(1);
      assertThat(stderr(p)).contains("waiting for it (up to 2 s)").contains("in use by another process");
    }
  }

  /** The command line in a process of its own, as an administrator runs it. */
  static Process cli(Path config, String... args) throws IOException {
    return cli(config, List.of(), args);
  }

  static Process cli(Path config, List<String> jvmOptions, String... args) throws IOException {
    return cli(config, java.util.Map.of(), jvmOptions, args);
  }

  static Process cli(Path config, java.util.Map<String, String> env, List<String> jvmOptions, String... args)
      throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    // As tools/launcher runs it: Netty's native transport is loaded by `serve` before the store opens (its listeners
    // are bound first), and without this the JVM warns about it on stderr.
    List<String> cmd = new java.util.ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1",
        "--enable-native-access=ALL-UNNAMED"));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.darwinmail.cli.Main", "--config",
        config.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(env);
    return pb.start();
  }

  private static String stderr(Process p) throws IOException {
    return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
  }
}
