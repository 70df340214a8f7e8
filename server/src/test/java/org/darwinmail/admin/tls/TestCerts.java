package org.darwinmail.admin.tls;

import java.io.StringWriter;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Certificates for tests: a CA, an intermediate, leaves with chosen names and dates, as objects and PEM. */
public final class TestCerts {
  private static final AtomicLong SERIAL = new AtomicLong(1);

  public record Issued(X509Certificate cert, KeyPair keys) {}

  public static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  static KeyPair ec() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    return g.generateKeyPair();
  }

  /** A certificate for {@code cn} (SANs {@code names}, none when empty) signed by {@code issuer} (null: itself). */
  public static Issued issue(String cn, Issued issuer, boolean ca, Instant from, Duration life, KeyPair keys,
      String... names) throws Exception {
    X500Name subject = new X500Name("CN=" + cn);
    X500Name issuerName = issuer == null ? subject : new X500Name(issuer.cert().getSubjectX500Principal().getName());
    PrivateKey signer = issuer == null ? keys.getPrivate() : issuer.keys().getPrivate();
    var b = new JcaX509v3CertificateBuilder(issuerName, BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(from), Date.from(from.plus(life)), subject, keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    if (names.length > 0) {
      GeneralName[] g = new GeneralName[names.length];
      for (int i = 0; i < names.length; i++) {
        g[i] = new GeneralName(GeneralName.dNSName, names[i]);
      }
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(g));
    }
    String alg = signer.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
    X509Certificate c = new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder(alg).build(signer)));
    return new Issued(c, keys);
  }

  public static String pem(Object... objects) throws Exception {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter p = new JcaPEMWriter(w)) {
      for (Object o : objects) {
        p.writeObject(o);
      }
    }
    return w.toString();
  }

  public static String pkcs8(PrivateKey k) throws Exception {
    return pem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null));
  }

  private TestCerts() {}
}
