package org.darwinmail.admin.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcePEMEncryptorBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The checks of an uploaded PEM certificate chain and key, each refusal with its message. */
class CertificateUploadTest {
  static final String HOST = "mail.example.test";
  static final Instant NOW = Instant.now();
  static TestCerts.Issued root;
  static TestCerts.Issued inter;
  static TestCerts.Issued leaf;

  @BeforeAll
  static void chain() throws Exception {
    root = TestCerts.issue("Test Root", null, true, NOW.minus(Duration.ofDays(10)), Duration.ofDays(3650),
        TestCerts.rsa());
    inter = TestCerts.issue("Test Intermediate", root, true, NOW.minus(Duration.ofDays(10)), Duration.ofDays(1000),
        TestCerts.ec());
    leaf = TestCerts.issue(HOST, inter, false, NOW.minus(Duration.ofDays(1)), Duration.ofDays(90), TestCerts.rsa(),
        HOST, "example.test");
  }

  private static CertificateUpload.Result check(String chain, String key) {
    return CertificateUpload.check(chain, key, HOST, NOW);
  }

  @Test
  void aGoodChainAndKeyPass() throws Exception {
    CertificateUpload.Result r = check(TestCerts.pem(leaf.cert(), inter.cert()), TestCerts.pkcs8(leaf.keys().getPrivate()));
    assertThat(r.problems()).isEmpty();
    assertThat(r.warnings()).isEmpty();
    assertThat(r.names()).containsExactly(HOST, "example.test");
    assertThat(r.chainPem()).contains("BEGIN CERTIFICATE").doesNotContain("PRIVATE");
    assertThat(r.keyPem()).startsWith("-----BEGIN PRIVATE KEY-----");
  }

  @Test
  void aTraditionalRsaKeyIsReadToo() throws Exception {
    // "BEGIN RSA PRIVATE KEY" (PKCS#1), as older tools write it
    String pkcs1 = TestCerts.pem(leaf.keys());
    assertThat(pkcs1).contains("BEGIN RSA PRIVATE KEY");
    assertThat(check(TestCerts.pem(leaf.cert(), inter.cert()), pkcs1).problems()).isEmpty();
  }

  @Test
  void anotherKeyIsRefused() throws Exception {
    CertificateUpload.Result r = check(TestCerts.pem(leaf.cert(), inter.cert()),
        TestCerts.pkcs8(TestCerts.rsa().getPrivate()));
    assertThat(r.problems()).singleElement().asString().contains("does not belong to the first certificate");
  }

  @Test
  void aChainInTheWrongOrderIsRefused() throws Exception {
    CertificateUpload.Result r = check(TestCerts.pem(inter.cert(), leaf.cert()), TestCerts.pkcs8(leaf.keys().getPrivate()));
    assertThat(String.join(" ", r.problems())).contains("belongs to certificate 2 of the chain, not the first")
        .contains("did not issue certificate 1");
  }

  @Test
  void aCertificateForAnotherNameIsRefused() throws Exception {
    TestCerts.Issued other = TestCerts.issue("other", inter, false, NOW.minus(Duration.ofDays(1)), Duration.ofDays(90),
        TestCerts.rsa(), "www.example.test");
    CertificateUpload.Result r = check(TestCerts.pem(other.cert(), inter.cert()), TestCerts.pkcs8(other.keys().getPrivate()));
    assertThat(r.problems()).singleElement().asString()
        .contains("is for www.example.test, not for mail.example.test");
  }

  @Test
  void aWildcardCoversOneLabel() throws Exception {
    assertThat(CertificateUpload.nameMatches("*.example.test", HOST)).isTrue();
    assertThat(CertificateUpload.nameMatches("*.example.test", "a.mail.example.test")).isFalse();
    assertThat(CertificateUpload.nameMatches("*.example.test", "example.test")).isFalse();
  }

  @Test
  void anExpiredCertificateIsRefusedAndOneEndingSoonWarned() throws Exception {
    KeyPair k = TestCerts.rsa();
    TestCerts.Issued old = TestCerts.issue(HOST, inter, false, NOW.minus(Duration.ofDays(100)), Duration.ofDays(90), k,
        HOST);
    assertThat(check(TestCerts.pem(old.cert(), inter.cert()), TestCerts.pkcs8(k.getPrivate())).problems())
        .singleElement().asString().startsWith("The certificate expired on");
    TestCerts.Issued soon = TestCerts.issue(HOST, inter, false, NOW.minus(Duration.ofDays(80)), Duration.ofDays(90), k,
        HOST);
    CertificateUpload.Result r = check(TestCerts.pem(soon.cert(), inter.cert()), TestCerts.pkcs8(k.getPrivate()));
    assertThat(r.problems()).isEmpty();
    assertThat(r.warnings()).singleElement().asString().contains("within 30 days");
  }

  @Test
  void aLeafAloneIsAcceptedWithAWarning() throws Exception {
    CertificateUpload.Result r = check(TestCerts.pem(leaf.cert()), TestCerts.pkcs8(leaf.keys().getPrivate()));
    assertThat(r.problems()).isEmpty();
    assertThat(r.warnings()).singleElement().asString().contains("no intermediate");
  }

  @Test
  void anEncryptedKeyIsRefusedWithTheWayOut() throws Exception {
    var w = new java.io.StringWriter();
    try (JcaPEMWriter p = new JcaPEMWriter(w)) {
      p.writeObject(leaf.keys(), new JcePEMEncryptorBuilder("AES-128-CBC")
          .setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider()).build("secret".toCharArray()));
    }
    assertThat(check(TestCerts.pem(leaf.cert(), inter.cert()), w.toString()).problems()).singleElement().asString()
        .contains("passphrase").contains("openssl pkey");
  }

  @Test
  void garbageAndSwappedFieldsGetClearMessages() throws Exception {
    String key = TestCerts.pkcs8(leaf.keys().getPrivate());
    String cert = TestCerts.pem(leaf.cert());
    assertThat(check("hello", key).problems()).singleElement().asString().contains("No certificate found");
    assertThat(check(key, cert).problems()).singleElement().asString().contains("holds a private key");
    assertThat(check(cert, cert).problems()).singleElement().asString().contains("No private key found");
    assertThat(check("", key).problems()).singleElement().asString().contains("Paste the certificate chain");
    assertThat(check(cert, "x".repeat(CertificateUpload.MAX_TEXT + 1)).problems()).singleElement().asString()
        .contains("under");
    assertThat(check("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", key).problems())
        .singleElement().asString().contains("not valid PEM");
  }
}
