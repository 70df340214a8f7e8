package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.darwinmail.testing.Submitter;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.InboundConfig;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * DNSBL checks on port 25 (off by default) against a list served on loopback: a listed client is refused with
 * 554 5.7.1; a 127.255.255.x answer (Spamhaus: "your resolver is refused") is an error of the list, not a listing.
 */
class DnsblTest {
  static TestDns dns;
  static TestServer server;

  @BeforeAll
  static void start() {
    dns = new TestDns()
        .a("1.0.0.127.bl.test", "127.0.0.2")          // 127.0.0.1 is listed
        .a("2.0.0.127.bl.test", "127.255.255.254");   // the list refuses our resolver
    server = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withGuard(c.guard().withInbound(new InboundConfig(true, List.of(), null, null, List.of("bl.test")))));
    server.addUser("alice@dnsbl.test", "alice-pw");
  }

  @AfterAll
  static void stop() {
    server.close();
    dns.close();
  }

  private static String mailFrom(String client) throws Exception {
    try (Submitter c = new Submitter(client, server.port("smtp"))) {
      c.ehlo();
      c.send("MAIL FROM:<someone@elsewhere.test>");
      return c.read();
    }
  }

  @Test
  void aListedClientIsRefused() throws Exception {
    assertThat(mailFrom("127.0.0.1")).isEqualTo("554 5.7.1 Client address listed by bl.test");
  }

  @Test
  void anOpenResolverAnswerIsNotAListing() throws Exception {
    assertThat(mailFrom("127.0.0.2")).startsWith("250");
  }

  @Test
  void anUnlistedClientIsServed() throws Exception {
    assertThat(mailFrom("127.0.0.3")).startsWith("250");
  }
}
