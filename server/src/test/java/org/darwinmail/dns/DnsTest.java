package org.darwinmail.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.testing.TestDns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Destination lookup (RFC 5321 §5.1, RFC 7505) against a DNS server on loopback. */
class DnsTest {
  static TestDns server;
  static Dns dns;

  @BeforeAll
  static void start() {
    server = new TestDns();
    server.mx("pref.test", 20, "backup.pref.test").mx("pref.test", 10, "b.pref.test").mx("pref.test", 10,
        "a.pref.test").mx("pref.test", 30, "last.pref.test");
    server.a("plain.test", "127.0.0.9");
    server.nullMx("nullmx.test");
    server.servfail("broken.test");
    server.mx("v6.test", 10, "mx.v6.test").a("mx.v6.test", "::1").a("mx.v6.test", "127.0.0.1");
    dns = new Dns(new DnsConfig(List.of(server.address()), 2));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void mxHostsInPreferenceOrderWithEqualPreferencesShuffled() {
    Set<List<String>> orders = new HashSet<>();
    for (int i = 0; i < 64; i++) {
      Dns.Route r = dns.route("pref.test");
      assertThat(r).isInstanceOf(Dns.Route.Hosts.class);
      List<String> hosts = ((Dns.Route.Hosts) r).hosts();
      assertThat(hosts).hasSize(4);
      assertThat(hosts.subList(0, 2)).containsExactlyInAnyOrder("a.pref.test", "b.pref.test");
      assertThat(hosts.subList(2, 4)).containsExactly("backup.pref.test", "last.pref.test");
      orders.add(hosts);
    }
    // Both orders of the two preference-10 hosts appear (the chance of seeing only one in 64 tries is 2^-63).
    assertThat(orders).hasSize(2);
  }

  @Test
  void noMxButAnAddressIsTheImplicitMx() {
    assertThat(dns.route("plain.test")).isEqualTo(new Dns.Route.Hosts(List.of("plain.test"), true));
  }

  @Test
  void nullMxSaysTheDomainTakesNoMail() {
    assertThat(dns.route("nullmx.test")).isInstanceOf(Dns.Route.NullMx.class);
  }

  @Test
  void nxdomainIsPermanentAndServfailTemporary() {
    assertThat(dns.route("nowhere.test")).isInstanceOf(Dns.Route.NoSuchDomain.class);
    assertThat(dns.route("broken.test")).isInstanceOfSatisfying(Dns.Route.Temporary.class,
        t -> assertThat(t.reason()).contains("SERVFAIL"));
  }

  @Test
  void ipv6AndIpv4AddressesBothReturned() throws Exception {
    assertThat(dns.addresses("mx.v6.test")).isEqualTo(new Dns.Answer.Found<>(List.of(
        InetAddress.getByName("::1"), InetAddress.getByName("127.0.0.1"))));
  }

  @Test
  void aServerThatNeverAnswersIsATemporaryFailure() throws Exception {
    try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
      Dns mute = new Dns(new DnsConfig(List.of("127.0.0.1:" + silent.getLocalPort()), 1));
      assertThat(mute.route("example.test")).isInstanceOf(Dns.Route.Temporary.class);
    }
  }

  @Test
  void longTxtRecordsArriveWhole() {
    String key = "v=DKIM1; k=rsa; p=" + "A".repeat(600);
    server.txt("sel._domainkey.long.test", key);
    assertThat(dns.txt("sel._domainkey.long.test")).isEqualTo(new Dns.Answer.Found<>(List.of(key)));
  }
}
