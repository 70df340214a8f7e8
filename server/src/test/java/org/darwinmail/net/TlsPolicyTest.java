package org.darwinmail.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import javax.net.ssl.SSLSocket;
import org.darwinmail.config.TlsConfig;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What testssl reports about our TLS: no client-initiated renegotiation (a cheap way to make the server do
 * expensive handshakes, CVE-2011-1473), AEAD suites only (no CBC: Lucky Thirteen and the padding-oracle family),
 * TLS 1.2 and 1.3 both still served, and a self-signed certificate of a bounded life, replaced at start when near
 * its end.
 */
class TlsPolicyTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static SSLSocket connect(String protocol, String... suites) throws IOException {
    SSLSocket s = (SSLSocket) LineClient.trustAll().getSocketFactory()
        .createSocket("127.0.0.1", server.port("imaps"));
    s.setSoTimeout(10_000);
    s.setEnabledProtocols(new String[] {protocol});
    if (suites.length > 0) {
      s.setEnabledCipherSuites(suites);
    }
    s.startHandshake();
    return s;
  }

  @Test
  void aClientThatRenegotiatesIsCutOff() throws Exception {
    try (SSLSocket s = connect("TLSv1.2")) {
      var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
      OutputStream out = s.getOutputStream();
      assertThat(in.readLine()).startsWith("* OK");
      // A second handshake on a TLS 1.2 connection is a renegotiation (RFC 5746); the server refuses it with a
      // fatal alert, so the connection cannot go on. Before: renegotiated, and "a NOOP" was answered.
      assertThatThrownBy(() -> {
        s.startHandshake();
        out.write("a NOOP\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String line = in.readLine();
        if (line != null) {
          throw new AssertionError("renegotiated and answered: " + line);
        }
        throw new IOException("closed");
      }).isInstanceOf(IOException.class);
    }
  }

  @Test
  void cbcSuitesAreNotOffered() {
    String[] cbc = {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256",
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"};
    assertThatThrownBy(() -> connect("TLSv1.2", cbc).close()).isInstanceOf(IOException.class);
  }

  @Test
  void ordinaryClientsStillConnectWithTls12AndTls13() throws Exception {
    try (SSLSocket s = connect("TLSv1.2")) {
      assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.2");
      assertThat(s.getSession().getCipherSuite()).matches("TLS_ECDHE_RSA_WITH_(AES_\\d+_GCM_SHA\\d+|CHACHA20_POLY1305_SHA256)");
    }
    try (SSLSocket s = connect("TLSv1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")) {
      assertThat(s.getSession().getCipherSuite()).isEqualTo("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
    }
    try (SSLSocket s = connect("TLSv1.3")) {
      assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
    }
  }

  @Test
  void theSelfSignedCertificateLivesAtMost825DaysAndIsReplacedNearItsEnd(@TempDir Path dir) throws Exception {
    Path cert = dir.resolve("tls/cert.pem");
    Tls.load(new TlsConfig(null, null), dir, "mail.example.test");
    X509Certificate first = read(cert);
    long days = Duration.between(first.getNotBefore().toInstant(), first.getNotAfter().toInstant()).toDays();
    assertThat(days).isBetween(1L, 825L);
    // A restart keeps a certificate with time left...
    Tls.load(new TlsConfig(null, null), dir, "mail.example.test");
    assertThat(read(cert)).isEqualTo(first);
    // ...and replaces one that ends within 30 days.
    Tls.generateSelfSigned(cert, dir.resolve("tls/key.pem"), "mail.example.test", Duration.ofDays(20));
    Tls.load(new TlsConfig(null, null), dir, "mail.example.test");
    assertRenewed(read(cert), first);
  }

  @Test
  void aConfiguredSelfSignedCertificateNearItsEndIsReplacedToo(@TempDir Path dir) throws Exception {
    // Self-signed and named in the configuration (as older appliances named the one their first boot made).
    Path cert = dir.resolve("appliance-cert.pem");
    Path key = dir.resolve("appliance-key.pem");
    Tls.generateSelfSigned(cert, key, "mail.example.test", Duration.ofDays(10));
    X509Certificate old = read(cert);
    Tls.load(new TlsConfig(cert.toString(), key.toString()), dir, "mail.example.test");
    assertRenewed(read(cert), old);
  }

  private static void assertRenewed(X509Certificate renewed, X509Certificate old) {
    assertThat(renewed.getNotAfter()).isAfter(Date.from(Instant.now().plus(Duration.ofDays(800))));
    assertThat(Arrays.equals(renewed.getPublicKey().getEncoded(), old.getPublicKey().getEncoded())).isFalse();
  }

  private static X509Certificate read(Path pem) throws Exception {
    try (var in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  /**
   * The generated key (PKCS #8) is read by Tls itself; a key in the traditional PEM form ({@code BEGIN RSA PRIVATE
   * KEY}, what older openssl commands write) still loads, through Netty's reader. Both serve a TLS handshake.
   */
  @Test
  void aConfiguredKeyLoadsInTheGeneratedAndTheTraditionalPemForm(@TempDir Path dir) throws Exception {
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    Tls.generateSelfSigned(cert, key, "mail.example.test", Duration.ofDays(100));
    assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(handshake(Tls.load(new TlsConfig(cert.toString(), key.toString()), dir, "mail.example.test")))
        .isEqualTo("TLSv1.3");

    Object info;
    try (var r = new org.bouncycastle.openssl.PEMParser(Files.newBufferedReader(key))) {
      info = r.readObject();
    }
    java.security.PrivateKey pk = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter()
        .getPrivateKey((org.bouncycastle.asn1.pkcs.PrivateKeyInfo) info);
    Path rsa = dir.resolve("rsa-key.pem");
    try (var w = Files.newBufferedWriter(rsa); var pw = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(w)) {
      pw.writeObject(pk);
    }
    assertThat(Files.readString(rsa)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
    assertThat(handshake(Tls.load(new TlsConfig(cert.toString(), rsa.toString()), dir, "mail.example.test")))
        .isEqualTo("TLSv1.3");
  }

  /** A TLS handshake between {@code tls}'s server side and a trusting client, in memory: the protocol agreed. */
  private static String handshake(Tls tls) throws Exception {
    javax.net.ssl.SSLEngine srv = tls.context().newEngine(io.netty.buffer.ByteBufAllocator.DEFAULT);
    javax.net.ssl.SSLEngine cli = LineClient.trustAll().createSSLEngine("mail.example.test", 25);
    cli.setUseClientMode(true);
    java.nio.ByteBuffer c2s = java.nio.ByteBuffer.allocate(1 << 17);
    java.nio.ByteBuffer s2c = java.nio.ByteBuffer.allocate(1 << 17);
    java.nio.ByteBuffer app = java.nio.ByteBuffer.allocate(1 << 17);
    java.nio.ByteBuffer none = java.nio.ByteBuffer.allocate(0);
    cli.beginHandshake();
    srv.beginHandshake();
    for (int i = 0; i < 100 && (handshaking(cli) || handshaking(srv)); i++) {
      cli.wrap(none, c2s);
      tasks(cli);
      c2s.flip();
      srv.unwrap(c2s, app);
      c2s.compact();
      tasks(srv);
      srv.wrap(none, s2c);
      tasks(srv);
      s2c.flip();
      cli.unwrap(s2c, app);
      s2c.compact();
      tasks(cli);
    }
    assertThat(handshaking(cli) || handshaking(srv)).isFalse();
    return cli.getSession().getProtocol();
  }

  private static boolean handshaking(javax.net.ssl.SSLEngine e) {
    var s = e.getHandshakeStatus();
    return s != javax.net.ssl.SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING
        && s != javax.net.ssl.SSLEngineResult.HandshakeStatus.FINISHED;
  }

  private static void tasks(javax.net.ssl.SSLEngine e) {
    for (Runnable t; (t = e.getDelegatedTask()) != null; ) {
      t.run();
    }
  }
}
