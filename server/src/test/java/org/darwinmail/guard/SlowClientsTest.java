package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.Submitter;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Slowloris on port 25: three hundred clients that connect and then say nothing (or half a command) do not starve
 * a real client, which is served while they hang; the silent ones are dropped after the idle timeout with 421.
 */
@Tag("slow") // 300 sockets and an idle timeout to wait for: run by `make test` (test-slow), not by `make check`
class SlowClientsTest {

  @Test
  void threeHundredSilentClientsStarveNobodyAndAreDropped() throws Exception {
    var parsed = ConfigLoader.parse("""
        [smtp]
        idle_timeout_seconds = 3
        [guard]
        max_connections_per_address = 1000
        max_connections_per_minute = 10000
        """);
    try (TestServer server = TestServer.start(c -> c.withSmtp(parsed.smtp()).withGuard(parsed.guard()))) {
      server.addUser("alice@slow.test", "alice-pw");
      List<Socket> slow = new ArrayList<>();
      try {
        for (int i = 0; i < 300; i++) {
          Socket s = new Socket("127.0.0.1", server.port("smtp"));
          if (i % 2 == 0) {
            s.getOutputStream().write("MAIL FROM:<slow".getBytes()); // half a command, never finished
          }
          slow.add(s);
        }
        // A real client is served at once.
        try (Submitter c = new Submitter("127.0.0.2", server.port("smtp"))) {
          assertThat(c.greeting).startsWith("220 ");
          c.ehlo();
          assertThat(c.send("friend@elsewhere.test", List.of("alice@slow.test"), "served")).startsWith("250 ");
        }
        // The silent ones are told and dropped after the idle timeout.
        for (Socket s : List.of(slow.get(0), slow.get(1), slow.get(299))) {
          s.setSoTimeout(30_000);
          String line = new String(s.getInputStream().readAllBytes()).lines().filter(l -> l.startsWith("421"))
              .findFirst().orElse("");
          assertThat(line).startsWith("421 4.4.2 Idle timeout");
        }
        await().atMost(Duration.ofSeconds(30))
            .until(() -> server.services().guard().connections().open("smtp", "127.0.0.1") == 0);
      } finally {
        for (Socket s : slow) {
          try {
            s.close();
          } catch (IOException e) {
            // already closed
          }
        }
      }
    }
  }
}
