package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;

/**
 * Per-address connection limits, in front of every listener: too many simultaneous connections, or too many new
 * ones in a minute, from one address get the protocol's "too busy" answer; other addresses and other listeners
 * are served.
 */
class ConnectionLimitTest {

  @Test
  void simultaneousConnectionsFromOneAddressAreCapped() throws Exception {
    try (TestServer server = TestServer.start(c -> c.withGuard(c.guard().withConnections(3, 1000)))) {
      List<Submitter> open = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          Submitter s = new Submitter("127.0.0.5", server.port("smtp"));
          assertThat(s.greeting).startsWith("220 ");
          open.add(s);
        }
        try (Submitter fourth = new Submitter("127.0.0.5", server.port("smtp"))) {
          assertThat(fourth.greeting).isEqualTo("421 4.7.0 Too many connections from your address, try again later");
          assertThat(fourth.closedByServer()).isTrue();
        }
        // Another address, and the same address on another listener, are served.
        try (Submitter other = new Submitter("127.0.0.6", server.port("smtp"))) {
          assertThat(other.greeting).startsWith("220 ");
        }
        try (Submitter sub = new Submitter("127.0.0.5", server.port("submission"))) {
          assertThat(sub.greeting).startsWith("220 ");
        }
        // One leaves: a new connection is admitted again.
        open.removeFirst().close();
        await().atMost(Duration.ofSeconds(10)).until(() -> {
          try (Submitter again = new Submitter("127.0.0.5", server.port("smtp"))) {
            return again.greeting != null && again.greeting.startsWith("220 ");
          }
        });
      } finally {
        for (Submitter s : open) {
          s.close();
        }
      }
    }
  }

  @Test
  void imapAndPop3ClientsGetTheirProtocolsRefusal() throws Exception {
    try (TestServer server = TestServer.start(c -> c.withGuard(c.guard().withConnections(2, 1000)))) {
      for (String[] l : new String[][] {
          {"imap", "* OK", "* BYE [UNAVAILABLE] Too many connections from your address, try again later"},
          {"pop3", "+OK", "-ERR [SYS/TEMP] Too many connections from your address, try again later"}}) {
        try (Submitter a = new Submitter("127.0.0.9", server.port(l[0]));
            Submitter b = new Submitter("127.0.0.9", server.port(l[0]));
            Submitter c = new Submitter("127.0.0.9", server.port(l[0]))) {
          assertThat(a.greeting).startsWith(l[1]);
          assertThat(b.greeting).startsWith(l[1]);
          assertThat(c.greeting).isEqualTo(l[2]);
          assertThat(c.closedByServer()).isTrue();
        }
      }
      // Implicit TLS listeners close without a plaintext answer.
      try (java.net.Socket a = new java.net.Socket("127.0.0.1", server.port("imaps"));
          java.net.Socket b = new java.net.Socket("127.0.0.1", server.port("imaps"))) {
        // No greeting to wait for: wait until the server has counted both.
        await().atMost(Duration.ofSeconds(10))
            .until(() -> server.services().guard().connections().open("imaps", "127.0.0.1") == 2);
        java.net.Socket c = new java.net.Socket("127.0.0.1", server.port("imaps"));
        c.setSoTimeout(10_000);
        assertThat(c.getInputStream().read()).as("closed at once").isEqualTo(-1);
        a.setSoTimeout(300);
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> a.getInputStream().read()))
            .as("an admitted client waits for its handshake").isInstanceOf(java.net.SocketTimeoutException.class);
        c.close();
      }
    }
  }

  @Test
  void aConnectionFloodFromOneAddressIsRefused() throws Exception {
    try (TestServer server = TestServer.start(c -> c.withGuard(c.guard().withConnections(100, 5)))) {
      for (int i = 0; i < 5; i++) {
        try (Submitter s = new Submitter("127.0.0.7", server.port("smtp"))) {
          assertThat(s.greeting).startsWith("220 ");
          s.send("QUIT");
        }
      }
      try (Submitter sixth = new Submitter("127.0.0.7", server.port("smtp"))) {
        assertThat(sixth.greeting).startsWith("421 4.7.0 Too many connections");
      }
      try (Submitter other = new Submitter("127.0.0.8", server.port("smtp"))) {
        assertThat(other.greeting).startsWith("220 ");
      }
    }
  }
}
