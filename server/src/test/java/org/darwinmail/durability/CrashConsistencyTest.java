package org.darwinmail.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.store.Account;
import org.darwinmail.store.MessageRow;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "A message acknowledged with 250 survives kill -9 at any instant" (ARCHITECTURE.md, "Durability rules"). The server
 * runs as a child process; concurrent clients send messages; the server is killed with SIGKILL at a random moment, ten
 * times, and restarted on the same data. At the end every message that got 250 is stored exactly once with its exact
 * bytes, and every restart opened the store cleanly.
 */
@Tag("slow") // ten cold JVM starts: run by `make test` (test-slow), not by `make check`
class CrashConsistencyTest {
  private static final Pattern ID = Pattern.compile("X-Crash-Test-Id: (\\S+)");
  private static final int ROUNDS = 10;
  private static final int CLIENTS = 4;

  @TempDir
  Path dir;

  @Test
  void everyAcknowledgedMessageSurvivesSigkillExactlyOnce() throws Exception {
    try {
      run();
    } catch (Throwable e) {
      keep();
      throw e;
    }
  }

  /**
   * A failure's data directory and server logs, copied to target/ before the temporary folder goes: a store that
   * does not open after a SIGKILL (session 18's CI: Derby's recovery failed undoing a purge, XSLA8) can be studied.
   */
  private void keep() throws IOException {
    Path to = Path.of("target", "crash-consistency-failure-" + System.currentTimeMillis());
    try (var all = Files.walk(dir)) {
      for (Path p : all.toList()) {
        Path t = to.resolve(dir.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else if (Files.isRegularFile(p)) {
          Files.copy(p, t);
        }
      }
    }
    System.err.println("CrashConsistencyTest: the data directory and the server logs are kept in " + to.toAbsolutePath());
  }

  private void run() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path config = dir.resolve("darwinmail.toml");
    Files.writeString(config, "hostname = \"crash.test\"\ndata_dir = \"var\"\n[listen]\nsmtp = \"127.0.0.1:" + port
        + "\"\nsubmission = \"\"\nsubmissions = \"\"\nimap = \"\"\nimaps = \"\"\npop3 = \"\"\npop3s = \"\"\nadmin = \"\"\n");
    try (var s = DarwinMail.Services.open(ConfigLoader.load(config))) {
      s.directory().addDomain("crash.test");
      s.directory().addAccount("victim@crash.test", "pw-victim".toCharArray());
    }

    Map<String, String> acknowledged = new ConcurrentHashMap<>(); // id -> sha256 of the bytes sent
    Random random = new Random();
    AtomicInteger seq = new AtomicInteger();
    for (int round = 0; round < ROUNDS; round++) {
      Process p = startServer(config, round);
      try {
        waitForPort(port, p);
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
          clients.add(Thread.ofVirtual().start(() -> sendUntilFailure(port, seq, acknowledged, stop)));
        }
        // Kill at a random moment once messages are flowing (a cold JVM on a busy machine takes a while).
        int before = acknowledged.size();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (acknowledged.size() == before && System.nanoTime() < deadline && p.isAlive()) {
          Thread.sleep(10);
        }
        // The port answers before the store is open (listeners first, issue 22): that this round's server opened its
        // store cleanly is shown by a message acknowledged in the round, and by the server still running now.
        assertThat(acknowledged.size()).as("a message acknowledged in round " + round + " (its store opened)")
            .isGreaterThan(before);
        assertThat(p.isAlive()).as("round " + round + "'s server running: " + dir.resolve("server-" + round + ".log"))
            .isTrue();
        Thread.sleep(random.nextInt(600));
        p.destroyForcibly(); // SIGKILL
        p.waitFor(30, TimeUnit.SECONDS);
        stop.set(true);
        for (Thread t : clients) {
          t.join(30_000);
        }
      } finally {
        p.destroyForcibly();
      }
    }
    assertThat(acknowledged).as("messages were acknowledged in every round").hasSizeGreaterThanOrEqualTo(ROUNDS);

    try (var s = DarwinMail.Services.open(ConfigLoader.load(config))) {
      Account a = s.directory().account("victim@crash.test").orElseThrow();
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      Map<String, Integer> seen = new ConcurrentHashMap<>();
      for (MessageRow m : s.mail().messages(inbox)) {
        byte[] stored = Files.readAllBytes(s.blobs().path(m.blob()));
        assertThat(sha256(stored)).as("blob named by its content").isEqualTo(m.blob());
        assertThat((long) stored.length).isEqualTo(m.size());
        String text = new String(stored, StandardCharsets.ISO_8859_1);
        Matcher id = ID.matcher(text);
        assertThat(id.find()).isTrue();
        seen.merge(id.group(1), 1, Integer::sum);
        String expected = acknowledged.get(id.group(1));
        if (expected != null) {
          // The stored bytes are our Received: header followed by exactly what the client sent.
          String sent = text.substring(text.indexOf("X-Crash-Test-Id:"));
          assertThat(sha256(sent.getBytes(StandardCharsets.ISO_8859_1))).isEqualTo(expected);
        }
      }
      for (String id : acknowledged.keySet()) {
        assertThat(seen.getOrDefault(id, 0)).as("acknowledged message " + id + " stored exactly once").isEqualTo(1);
      }
      assertThat(seen.values()).as("no message stored twice").allMatch(n -> n == 1);
    }
  }

  private Process startServer(Path config, int round) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb = new ProcessBuilder(java, "-XX:+UseSerialGC", "-Xshare:auto", "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"), "org.darwinmail.cli.Main", "--config", config.toString(), "serve");
    pb.redirectErrorStream(true);
    pb.redirectOutput(dir.resolve("server-" + round + ".log").toFile());
    return pb.start();
  }

  private static void waitForPort(int port, Process p) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      assertThat(p.isAlive()).as("server process running (store opened cleanly)").isTrue();
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    throw new AssertionError("server did not listen within 120 s");
  }

  /** Sends messages on one connection after another until the server dies. */
  private static void sendUntilFailure(int port, AtomicInteger seq, Map<String, String> acknowledged,
      AtomicBoolean stop) {
    Random r = new Random();
    while (!stop.get()) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        s.setSoTimeout(20_000);
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
        OutputStream out = s.getOutputStream();
        expect(in, "220");
        out.write("EHLO crash.client\r\n".getBytes());
        expect(in, "250");
        for (int i = 0; i < 20 && !stop.get(); i++) {
          String id = "m" + seq.incrementAndGet() + "-" + Long.toHexString(r.nextLong());
          StringBuilder body = new StringBuilder("X-Crash-Test-Id: " + id + "\r\nSubject: crash " + id + "\r\n\r\n");
          // Most under 64 KB (the intake journal's path), one in ten over it (blob, then row).
          int lines = r.nextInt(10) == 0 ? 3000 + r.nextInt(1000) : 1 + r.nextInt(300);
          for (int l = 0; l < lines; l++) {
            body.append(Long.toHexString(r.nextLong())).append(" line ").append(l).append("\r\n");
          }
          out.write(("MAIL FROM:<sender@remote.test>\r\nRCPT TO:<victim@crash.test>\r\nDATA\r\n").getBytes());
          expect(in, "250");
          expect(in, "250");
          expect(in, "354");
          out.write((body + ".\r\n").getBytes(StandardCharsets.ISO_8859_1));
          String reply = in.readLine();
          if (reply != null && reply.startsWith("250")) {
            acknowledged.put(id, sha256(body.toString().getBytes(StandardCharsets.ISO_8859_1)));
          } else {
            break;
          }
        }
      } catch (IOException | RuntimeException e) {
        try {
          Thread.sleep(20);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  private static void expect(BufferedReader in, String code) throws IOException {
    String line;
    do {
      line = in.readLine();
      if (line == null || !line.startsWith(code)) {
        throw new IOException("unexpected reply: " + line);
      }
    } while (line.charAt(3) == '-');
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
