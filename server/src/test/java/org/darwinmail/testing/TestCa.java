package org.darwinmail.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.darwinmail.admin.tls.TestCerts;

/**
 * A certificate authority of the test's own: its certificate as a PEM file (what a test gives the server as the CA
 * to trust, e.g. {@code delivery.mta_sts_ca}) and server TLS contexts with leaves it issues for chosen names, or
 * self-signed ones nobody trusts. EC P-256 keys (fast to make).
 */
public final class TestCa {
  private final TestCerts.Issued ca;
  private final Path pem;

  public TestCa(Path dir) throws Exception {
    this.ca = TestCerts.issue("Darwin Test CA", null, true, Instant.now().minus(Duration.ofDays(1)),
        Duration.ofDays(30), ec());
    this.pem = dir.resolve("test-ca.pem");
    Files.writeString(pem, TestCerts.pem(ca.cert()));
  }

  /** The CA's certificate, PEM. */
  public Path pemFile() {
    return pem;
  }

  /** A server context whose certificate this CA issued for {@code names} (the first also its CN). */
  public SSLContext server(String... names) throws Exception {
    return context(TestCerts.issue(names[0], ca, false, Instant.now().minus(Duration.ofDays(1)),
        Duration.ofDays(10), ec(), names), ca.cert());
  }

  /** A server context whose certificate this CA issued for {@code names} and which expired yesterday. */
  public SSLContext expired(String... names) throws Exception {
    return context(TestCerts.issue(names[0], ca, false, Instant.now().minus(Duration.ofDays(10)),
        Duration.ofDays(9), ec(), names), ca.cert());
  }

  /** A self-signed certificate for {@code names}: right names, no CA behind it. */
  public static SSLContext selfSigned(String... names) throws Exception {
    return context(TestCerts.issue(names[0], null, false, Instant.now().minus(Duration.ofDays(1)),
        Duration.ofDays(10), ec(), names), null);
  }

  private static SSLContext context(TestCerts.Issued leaf, java.security.cert.X509Certificate issuer)
      throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    Certificate[] chain = issuer == null ? new Certificate[] {leaf.cert()}
        : new Certificate[] {leaf.cert(), issuer};
    ks.setKeyEntry("leaf", leaf.keys().getPrivate(), new char[0], chain);
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, new char[0]);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    return ctx;
  }

  private static KeyPair ec() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    return g.generateKeyPair();
  }
}
