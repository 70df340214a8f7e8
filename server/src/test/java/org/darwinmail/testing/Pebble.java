package org.darwinmail.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Let's Encrypt's test CA, Debian's {@code pebble}, as a child process on loopback: its HTTPS certificate made here
 * (the package ships none) and trusted through {@link #trust()} only; its DNS is the given {@link TestDns}; it
 * validates HTTP-01 on {@link #http01Port()}, where the code under test must listen. Stopped by {@link #close}.
 */
public final class Pebble implements AutoCloseable {
  private final Process process;
  private final SSLContext trust;
  private final String directory;
  private final int http01;
  private final Path log;

  public Pebble(Path dir, TestDns dns) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair k = g.generateKeyPair();
    X500Name n = new X500Name("CN=pebble test");
    var b = new JcaX509v3CertificateBuilder(n, BigInteger.ONE, Date.from(Instant.now().minusSeconds(3600)),
        Date.from(Instant.now().plus(Duration.ofDays(2))), n, k.getPublic());
    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
        new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
    X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withRSA").build(k.getPrivate())));
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("pebble-cert.pem"), pem(cert));
    Files.writeString(dir.resolve("pebble-key.pem"),
        pem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k.getPrivate(), null)));
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
    log = dir.resolve("pebble.log");
    ProcessBuilder pb = new ProcessBuilder("pebble", "-config", dir.resolve("pebble.json").toString(),
        "-dnsserver", dns.address()).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("PEBBLE_VA_NOSLEEP", "1");
    pb.environment().put("PEBBLE_WFE_NONCEREJECT", "0");
    process = pb.start();
    directory = "https://127.0.0.1:" + acmePort + "/dir";
    for (int i = 0; i < 100; i++) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), acmePort)) {
        return;
      } catch (IOException e) {
        if (!process.isAlive()) {
          throw new IllegalStateException("pebble ended: " + Files.readString(log));
        }
        Thread.sleep(100);
      }
    }
    close();
    throw new IllegalStateException("pebble did not listen: " + Files.readString(log));
  }

  private static String pem(Object o) throws IOException {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter p = new JcaPEMWriter(w)) {
      p.writeObject(o);
    }
    return w.toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** The ACME directory URL. */
  public String directory() {
    return directory;
  }

  /** Trusts pebble's HTTPS certificate (not its CA's: the issued certificates are checked by the test). */
  public SSLContext trust() {
    return trust;
  }

  /** Where pebble connects for HTTP-01 (on the address the test DNS gives the host name). */
  public int http01Port() {
    return http01;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    process.waitFor();
  }
}
