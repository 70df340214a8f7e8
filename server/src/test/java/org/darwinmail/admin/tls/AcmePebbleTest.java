package org.darwinmail.admin.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.time.Instant;
import java.time.ZoneOffset;
import org.darwinmail.config.HostPort;
import org.darwinmail.config.TlsConfig;
import org.darwinmail.net.Tls;
import org.darwinmail.testing.Pebble;
import org.darwinmail.testing.TestDns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ACME against Let's Encrypt's test server, Debian's {@code pebble} (make check installs it), run as a child process
 * on loopback: its DNS is a {@link TestDns} that sends the test host name to 127.0.0.1, and its HTTP-01 port is the
 * one our challenge listener binds, so the whole order (account, challenge, issuance, install) runs here.
 */
class AcmePebbleTest {
  private static final String HOST = "mail.example.test";
  @TempDir
  Path dir;
  private final TestDns dns = new TestDns();
  private Pebble pebble;
  private String directory;

  @BeforeEach
  void startPebble() throws Exception {
    dns.a(HOST, "127.0.0.1");
    pebble = new Pebble(dir.resolve("pebble"), dns);
    directory = pebble.directory();
  }

  @AfterEach
  void stop() throws Exception {
    if (pebble != null) {
      pebble.close();
    }
    dns.close();
  }

  private Acme acme() {
    return new Acme(dir, new Acme.Options(HostPort.parse("http01", "127.0.0.1:" + pebble.http01Port()), pebble.trust(),
        Duration.ofSeconds(30)));
  }

  private static X509Certificate served(Tls tls) throws Exception {
    try (InputStream in = Files.newInputStream(tls.certFile())) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  @Test
  void aCertificateIsOrderedInstalledAndRenewedBeforeItsEnd() throws Exception {
    Tls tls = Tls.load(new TlsConfig(null, null), dir, HOST);
    assertThat(served(tls).getIssuerX500Principal()).isEqualTo(served(tls).getSubjectX500Principal());
    Acme acme = acme();

    X509Certificate got = acme.obtain(directory, HOST, "postmaster@example.test", tls);
    X509Certificate first = served(tls);
    assertThat(first).isEqualTo(got);
    assertThat(first.getIssuerX500Principal().getName()).contains("Pebble");
    assertThat(CertificateUpload.dnsNames(first)).containsExactly(HOST);
    assertThat(acme.ordered()).isEqualTo(new Acme.Ordered(directory, HOST, "postmaster@example.test"));
    assertThat(Files.readString(tls.certFile())).contains("BEGIN CERTIFICATE");
    assertThat(Files.exists(tls.certFile().resolveSibling("cert.pem.incoming"))).isFalse();

    // Not due yet: nothing happens. At 10 days before the end: a new certificate.
    Clock now = Clock.fixed(Instant.now(), ZoneOffset.UTC);
    assertThat(new AcmeRenewal(acme, tls, now).check()).isFalse();
    Clock late = Clock.fixed(first.getNotAfter().toInstant().minus(Duration.ofDays(10)), ZoneOffset.UTC);
    assertThat(new AcmeRenewal(acme, tls, late).check()).isTrue();
    assertThat(served(tls).getSerialNumber()).isNotEqualTo(first.getSerialNumber());
  }

  @Test
  void aHostNameThatDoesNotPointHereFailsWithAClearMessage() throws Exception {
    Tls tls = Tls.load(new TlsConfig(null, null), dir, HOST);
    byte[] before = Files.readAllBytes(tls.certFile());
    dns.clear(HOST);
    dns.a(HOST, "127.0.0.2"); // nothing answers HTTP there
    assertThatThrownBy(() -> acme().obtain(directory, HOST, "", tls)).isInstanceOf(Acme.AcmeFailure.class)
        .hasMessageContaining("could not validate " + HOST).hasMessageContaining("Port 80 must reach");
    assertThat(Files.readAllBytes(tls.certFile())).as("the old certificate stays").isEqualTo(before);
    assertThat(acme().ordered()).isNull();
  }

  @Test
  void theMtaStsNamesAreOrderedWithTheHostNameWhenTheyPointHere() throws Exception {
    String policyHost = "mta-sts.example.test";
    dns.a(policyHost, "127.0.0.1");
    Tls tls = Tls.load(new TlsConfig(null, null), dir, HOST);
    Acme acme = new Acme(dir, new Acme.Options(HostPort.parse("http01", "127.0.0.1:" + pebble.http01Port()),
        pebble.trust(), Duration.ofSeconds(30)), () -> List.of(policyHost));
    acme.obtain(directory, HOST, "", tls);
    assertThat(CertificateUpload.dnsNames(served(tls))).containsExactlyInAnyOrder(HOST, policyHost);
    assertThat(acme.ordered().hostname()).isEqualTo(HOST);
  }

  @Test
  void anMtaStsNameThatDoesNotPointHereLeavesTheHostNamesCertificate() throws Exception {
    String policyHost = "mta-sts.example.test";
    dns.a(policyHost, "127.0.0.2"); // nothing answers HTTP there
    Tls tls = Tls.load(new TlsConfig(null, null), dir, HOST);
    Acme acme = new Acme(dir, new Acme.Options(HostPort.parse("http01", "127.0.0.1:" + pebble.http01Port()),
        pebble.trust(), Duration.ofSeconds(30)), () -> List.of(policyHost));
    acme.obtain(directory, HOST, "", tls);
    assertThat(served(tls).getIssuerX500Principal().getName()).contains("Pebble");
    assertThat(CertificateUpload.dnsNames(served(tls))).containsExactly(HOST);
  }
}
