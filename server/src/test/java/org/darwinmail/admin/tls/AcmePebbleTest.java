package org.darwinmail.admin.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.darwinmail.config.HostPort;
import org.darwinmail.config.TlsConfig;
import org.darwinmail.net.Tls;
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
  private Process pebble;
  private int http01;
  private SSLContext trust;
  private String directory;

  @BeforeEach
  void startPebble() throws Exception {
    dns.a(HOST, "127.0.0.1");
    // Pebble's own HTTPS certificate (the Debian package ships none): for 127.0.0.1, trusted by the test alone.
    KeyPair k = TestCerts.rsa();
    X500Name n = new X500Name("CN=pebble test");
    var b = new JcaX509v3CertificateBuilder(n, BigInteger.ONE, Date.from(Instant.now().minusSeconds(3600)),
        Date.from(Instant.now().plus(Duration.ofDays(2))), n, k.getPublic());
    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
        new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
    X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withRSA").build(k.getPrivate())));
    Files.writeString(dir.resolve("pebble-cert.pem"), TestCerts.pem(cert));
    Files.writeString(dir.resolve("pebble-key.pem"), TestCerts.pkcs8(k.getPrivate()));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("pebble", cert);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    trust = SSLContext.getInstance("TLS");
    trust.init(null, tmf.getTrustManagers(), null);

    int acmePort = freePort();
    http01 = freePort();
    Files.writeString(dir.resolve("pebble.json"), """
        {"pebble": {"listenAddress": "127.0.0.1:%d", "managementListenAddress": "127.0.0.1:%d",
          "certificate": "%s", "privateKey": "%s", "httpPort": %d, "tlsPort": %d,
          "ocspResponderURL": "", "externalAccountBindingRequired": false}}
        """.formatted(acmePort, freePort(), dir.resolve("pebble-cert.pem"), dir.resolve("pebble-key.pem"), http01,
        freePort()));
    ProcessBuilder pb = new ProcessBuilder("pebble", "-config", dir.resolve("pebble.json").toString(),
        "-dnsserver", dns.address()).redirectErrorStream(true).redirectOutput(dir.resolve("pebble.log").toFile());
    pb.environment().put("PEBBLE_VA_NOSLEEP", "1");
    pb.environment().put("PEBBLE_WFE_NONCEREJECT", "0");
    pebble = pb.start();
    directory = "https://127.0.0.1:" + acmePort + "/dir";
    for (int i = 0; i < 100; i++) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), acmePort)) {
        return;
      } catch (java.io.IOException e) {
        assertThat(pebble.isAlive()).as(Files.readString(dir.resolve("pebble.log"))).isTrue();
        Thread.sleep(100);
      }
    }
    throw new AssertionError("pebble did not listen: " + Files.readString(dir.resolve("pebble.log")));
  }

  @AfterEach
  void stop() throws Exception {
    if (pebble != null) {
      pebble.destroy();
      pebble.waitFor();
    }
    dns.close();
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private Acme acme() {
    return new Acme(dir, new Acme.Options(HostPort.parse("http01", "127.0.0.1:" + http01), trust,
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
}
