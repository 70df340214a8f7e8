package org.darwinmail.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;

/**
 * Runs every script of {@code scripts/<protocol>/} against one {@link TestServer}. Each script gets its own domain
 * ($D) with the users alice@$D (password "alice-pw") and bob@$D ("bob-pw"), so scripts do not see each other's mail.
 * A first line "#! listener NAME" runs the script against another listener (TLS from the start for the
 * implicit-TLS ones).
 */
public final class ScriptSuite {
  private static final AtomicInteger SEQ = new AtomicInteger();

  private ScriptSuite() {}

  /** $D, $HOST, and SASL PLAIN responses: $PLAIN_ALICE (right password), $PLAIN_ALICE_BAD (wrong one). */
  static Map<String, String> vars(String domain, String host) {
    java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
    java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
    // Longest names first: "$PLAIN_ALICE_BAD" must not be cut by "$PLAIN_ALICE".
    m.put("PLAIN_ALICE_BAD", b64.encodeToString(("\0alice@" + domain + "\0wrong").getBytes()));
    m.put("PLAIN_ALICE", b64.encodeToString(("\0alice@" + domain + "\0alice-pw").getBytes()));
    m.put("PLAIN_BOB", b64.encodeToString(("\0bob@" + domain + "\0bob-pw").getBytes()));
    m.put("HOST", host);
    m.put("D", domain);
    return m;
  }

  /**
   * @param listener   which listener the script connects to ("smtp", "imap", ...)
   * @param implicitTls connect with TLS from the start (465, 993, 995)
   */
  public static Stream<DynamicTest> tests(TestServer server, String protocol, String listener, boolean implicitTls) {
    return tests(server, protocol, listener, implicitTls, (domain, script) -> { });
  }

  /** Prepares one script's domain after its users exist (mail in a mailbox, say), before the script runs. */
  public interface Setup {
    void prepare(String domain, Path script) throws Exception;
  }

  /** As above, with {@code setup} run for each script. */
  public static Stream<DynamicTest> tests(TestServer server, String protocol, String listener, boolean implicitTls,
      Setup setup) {
    Path dir;
    try {
      dir = Path.of(ScriptSuite.class.getResource("/scripts/" + protocol).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".txt")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files.stream().map(f -> DynamicTest.dynamicTest(protocol + "/" + f.getFileName(), () -> {
      String domain = "s" + SEQ.incrementAndGet() + ".test";
      server.addUser("alice@" + domain, "alice-pw");
      server.addUser("bob@" + domain, "bob-pw");
      setup.prepare(domain, f);
      // A script may name another listener in its first line: "#! listener submission" (or "submissions").
      String first = Files.readAllLines(f).stream().findFirst().orElse("");
      String l = first.startsWith("#! listener ") ? first.substring(12).strip() : listener;
      boolean tls = implicitTls || l.equals("submissions") || l.equals("imaps") || l.equals("pop3s");
      try (LineClient c = tls ? LineClient.tls("127.0.0.1", server.port(l))
          : new LineClient("127.0.0.1", server.port(l))) {
        Script.run(f, c, vars(domain, server.config().hostname()));
      }
    }));
  }
}
