package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.testing.Submitter;
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

  @Test
  void aListenerServesAtMostItsCapFromAllAddresses() throws Exception {
    var parsed = org.darwinmail.config.ConfigLoader.parse("""
        [guard]
        max_connections_per_listener = 3
        """);
    try (TestServer server = TestServer.start(c -> c.withGuard(parsed.guard()))) {
      for (String[] l : new String[][] {
          {"smtp", "220 ", "421 4.7.0 Too many connections, try again later"},
          {"imap", "* OK", "* BYE [UNAVAILABLE] Too many connections, try again later"},
          {"pop3", "+OK", "-ERR [SYS/TEMP] Too many connections, try again later"}}) {
        try (Submitter a = new Submitter("127.0.0.21", server.port(l[0]));
            Submitter b = new Submitter("127.0.0.22", server.port(l[0]));
            Submitter c = new Submitter("127.0.0.23", server.port(l[0]))) {
          assertThat(List.of(a.greeting, b.greeting, c.greeting)).allMatch(g -> g.startsWith(l[1]));
          try (Submitter fourth = new Submitter("127.0.0.24", server.port(l[0]))) {
            assertThat(fourth.greeting).isEqualTo(l[2]);
            assertThat(fourth.closedByServer()).isTrue();
          }
          // Another listener has its own count.
          try (Submitter sub = new Submitter("127.0.0.24", server.port("submission"))) {
            assertThat(sub.greeting).startsWith("220 ");
          }
        }
      }
    }
  }

  @Test
  void ipv6ClientsAreCountedByTheirSlash64() {
    assertThat(Networks.clientKey(address("2001:db8:1:2:aaaa::1")))
        .isEqualTo(Networks.clientKey(address("2001:db8:1:2:ffff:ffff:ffff:ffff")))
        .isEqualTo("2001:db8:1:2::/64");
    assertThat(Networks.clientKey(address("2001:db8:1:3::1"))).isEqualTo("2001:db8:1:3::/64");
    assertThat(Networks.clientKey(address("::1"))).isEqualTo("::/64");
    assertThat(Networks.clientKey(address("192.0.2.7"))).isEqualTo("192.0.2.7");
    assertThat(Networks.clientKey(address("::ffff:192.0.2.7"))).isEqualTo("192.0.2.7");
  }

  @Test
  void twoAddressesOfOneIpv6Slash64ShareTheirLimit() throws Exception {
    var parsed = org.darwinmail.config.ConfigLoader.parse("""
        [listen]
        smtp = "[::1]:0"
        submission = ""
        submissions = ""
        imap = ""
        imaps = ""
        pop3 = ""
        pop3s = ""
        admin = ""
        [guard]
        max_connections_per_address = 1
        """);
    try (TestServer server = TestServer.start(c -> c.withListen(parsed.listen()).withGuard(parsed.guard()));
        java.net.Socket s = new java.net.Socket("::1", server.port("smtp"))) {
      s.setSoTimeout(10_000);
      assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream())).readLine())
          .startsWith("220 ");
      // ::1 and ::2 are one /64: what ::1 holds counts for ::2 (one host can take a whole /64).
      assertThat(server.services().guard().connections().open("smtp", "::2")).isEqualTo(1);
      try (java.net.Socket again = new java.net.Socket("::1", server.port("smtp"))) {
        again.setSoTimeout(10_000);
        assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(again.getInputStream())).readLine())
            .isEqualTo("421 4.7.0 Too many connections from your address, try again later");
      }
    }
  }

  private static java.net.InetAddress address(String literal) {
    try {
      return java.net.InetAddress.getByName(literal);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
