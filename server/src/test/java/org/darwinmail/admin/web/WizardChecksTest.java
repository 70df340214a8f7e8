package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.dns.Dns;
import org.darwinmail.testing.TestDns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;

/** Each pre-flight check against a DNS server and an SMTP listener on loopback: ok, fail, and can't tell. */
class WizardChecksTest {
  private static final String HOST = "mail.example.test";
  private static final String ADDRESS = "192.0.2.10";
  private final TestDns testDns = new TestDns();
  private final WizardChecks checks = new WizardChecks(new Dns(new DnsConfig(List.of(testDns.address()), 1)),
      List.of("bl.example.test", "rbl.example.test"));

  @AfterEach
  void stop() {
    testDns.close();
  }

  @Test
  void forwardDns() {
    assertThat(checks.forward(HOST, ADDRESS).status()).isEqualTo(WizardChecks.Status.FAIL);
    assertThat(checks.forward(HOST, ADDRESS).message()).contains("does not exist");
    testDns.a(HOST, "198.51.100.1");
    WizardChecks.Check wrong = checks.forward(HOST, ADDRESS);
    assertThat(wrong.status()).isEqualTo(WizardChecks.Status.FAIL);
    assertThat(wrong.message()).contains("points at 198.51.100.1, not at this appliance's address 192.0.2.10");
    testDns.a(HOST, ADDRESS);
    assertThat(checks.forward(HOST, ADDRESS).status()).isEqualTo(WizardChecks.Status.OK);
    testDns.clear(HOST);
    testDns.servfail(HOST);
    WizardChecks.Check unknown = checks.forward(HOST, ADDRESS);
    assertThat(unknown.status()).isEqualTo(WizardChecks.Status.UNKNOWN);
    assertThat(unknown.message()).startsWith("Can't tell");
  }

  @Test
  void reverseDns() throws Exception {
    assertThat(checks.reverse(ADDRESS, HOST).status()).isEqualTo(WizardChecks.Status.FAIL);
    assertThat(checks.reverse(ADDRESS, HOST).message()).contains("has no reverse DNS");
    Name ptr = Name.fromString("10.2.0.192.in-addr.arpa.");
    testDns.add(new PTRRecord(ptr, DClass.IN, 60, Name.fromString("host-10.isp.test.")));
    assertThat(checks.reverse(ADDRESS, HOST).message()).contains("reverses to host-10.isp.test, not " + HOST);
    testDns.clear("10.2.0.192.in-addr.arpa");
    testDns.add(new PTRRecord(ptr, DClass.IN, 60, Name.fromString(HOST + ".")));
    assertThat(checks.reverse(ADDRESS, HOST).status()).isEqualTo(WizardChecks.Status.OK);
    testDns.servfail("10.2.0.192.in-addr.arpa");
    assertThat(checks.reverse(ADDRESS, HOST).status()).isEqualTo(WizardChecks.Status.UNKNOWN);
    assertThat(checks.reverse("not-an-ip", HOST).status()).isEqualTo(WizardChecks.Status.FAIL);
  }

  @Test
  void outboundPort25() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Thread.ofVirtual().start(() -> {
        try (Socket s = listener.accept(); OutputStream out = s.getOutputStream()) {
          out.write("220 mx.test ESMTP\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          s.getInputStream().read();
        } catch (Exception e) {
          // closed
        }
      });
      WizardChecks.Check ok = checks.port25("127.0.0.1:" + listener.getLocalPort(), Duration.ofSeconds(2));
      assertThat(ok.status()).isEqualTo(WizardChecks.Status.OK);
      assertThat(ok.message()).contains("220 mx.test ESMTP");
    }
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    WizardChecks.Check refused = checks.port25("127.0.0.1:" + closed, Duration.ofSeconds(2));
    assertThat(refused.status()).isEqualTo(WizardChecks.Status.FAIL);
    assertThat(refused.message()).contains("port 25 may be blocked");
    assertThat(checks.port25("no port", Duration.ofSeconds(1)).status()).isEqualTo(WizardChecks.Status.FAIL);
  }

  @Test
  void dnsblListedNotListedAndCantTell() {
    assertThat(checks.dnsbl(ADDRESS).status()).as("NXDOMAIN on both").isEqualTo(WizardChecks.Status.OK);
    testDns.servfail("10.2.0.192.rbl.example.test");
    WizardChecks.Check refused = checks.dnsbl(ADDRESS);
    assertThat(refused.status()).as("a refusal is not a listing").isEqualTo(WizardChecks.Status.UNKNOWN);
    assertThat(refused.message()).contains("Can't tell for rbl.example.test").contains("Not listed on the others");
    testDns.clear("10.2.0.192.rbl.example.test");
    testDns.a("10.2.0.192.rbl.example.test", "127.255.255.254"); // Spamhaus: query via a public resolver refused
    assertThat(checks.dnsbl(ADDRESS).status()).isEqualTo(WizardChecks.Status.UNKNOWN);
    testDns.a("10.2.0.192.bl.example.test", "127.0.0.2");
    WizardChecks.Check listed = checks.dnsbl(ADDRESS);
    assertThat(listed.status()).isEqualTo(WizardChecks.Status.FAIL);
    assertThat(listed.message()).contains("listed on bl.example.test (127.0.0.2)");
  }
}
