package org.darwinmail.admin.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * A certificate chain and key pasted or uploaded as PEM, checked before anything is written: the key is a private
 * key without a passphrase and belongs to the first certificate; each certificate is signed by the next (RFC 5246
 * §7.4.2: the sender's certificate first, each following one certifying the one before); the first names the host
 * (subjectAltName dNSName, RFC 6125 §6.4: one wildcard label at most, leftmost); every certificate is valid now.
 * Each refusal says what to do. Bounded: each text at most {@link #MAX_TEXT} characters, at most
 * {@link #MAX_CERTS} certificates.
 */
public final class CertificateUpload {
  public static final int MAX_TEXT = 30_000;
  static final int MAX_CERTS = 8;
  static final Duration SOON = Duration.ofDays(30);

  /** What the checks found; {@code problems} empty means the pair can be installed. */
  public record Result(List<String> problems, List<String> warnings, String subject, String issuer,
      Instant notAfter, List<String> names, String chainPem, String keyPem) {
    public boolean ok() {
      return problems.isEmpty();
    }
  }

  private CertificateUpload() {}

  public static Result check(String chainText, String keyText, String hostname, Instant now) {
    List<String> problems = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    if (chainText == null || chainText.isBlank()) {
      return refused("Paste the certificate chain (PEM, starting with -----BEGIN CERTIFICATE-----).");
    }
    if (keyText == null || keyText.isBlank()) {
      return refused("Paste the private key (PEM, starting with -----BEGIN PRIVATE KEY-----).");
    }
    if (chainText.length() > MAX_TEXT || keyText.length() > MAX_TEXT) {
      return refused("The certificate chain and the key must each be under " + MAX_TEXT + " characters.");
    }
    List<X509Certificate> chain;
    try {
      chain = certificates(chainText);
    } catch (IllegalArgumentException e) {
      return refused(e.getMessage());
    }
    PrivateKey key;
    try {
      key = key(keyText);
    } catch (IllegalArgumentException e) {
      return refused(e.getMessage());
    }
    X509Certificate leaf = chain.getFirst();
    if (!matches(key, leaf.getPublicKey())) {
      int other = -1;
      for (int i = 1; i < chain.size(); i++) {
        if (matches(key, chain.get(i).getPublicKey())) {
          other = i;
        }
      }
      problems.add(other > 0
          ? "The key belongs to certificate " + (other + 1) + " of the chain, not the first: put the server's"
              + " certificate first, then the certificates that issued it."
          : "The key does not belong to the first certificate (" + subject(leaf) + "): upload the key made with"
              + " this certificate's request.");
    }
    for (int i = 0; i + 1 < chain.size(); i++) {
      X509Certificate c = chain.get(i);
      X509Certificate next = chain.get(i + 1);
      if (!signedBy(c, next)) {
        problems.add("Certificate " + (i + 2) + " (" + subject(next) + ") did not issue certificate " + (i + 1)
            + " (" + subject(c) + "): order the chain from the server's certificate to the root, each one"
            + " followed by its issuer.");
        break;
      }
    }
    List<String> names = dnsNames(leaf);
    if (names.isEmpty()) {
      problems.add("The certificate names no host (no subjectAltName DNS names); mail clients need "
          + hostname + " among them.");
    } else if (hostname != null && names.stream().noneMatch(n -> nameMatches(n, hostname))) {
      problems.add("The certificate is for " + String.join(", ", names) + ", not for " + hostname
          + ": get one that names " + hostname + ".");
    }
    for (int i = 0; i < chain.size(); i++) {
      X509Certificate c = chain.get(i);
      String which = i == 0 ? "The certificate" : "Certificate " + (i + 1) + " of the chain (" + subject(c) + ")";
      if (c.getNotAfter().toInstant().isBefore(now)) {
        problems.add(which + " expired on " + c.getNotAfter().toInstant() + ".");
      } else if (c.getNotBefore().toInstant().isAfter(now)) {
        problems.add(which + " is not valid before " + c.getNotBefore().toInstant()
            + ": check this server's clock, or wait.");
      } else if (i == 0 && c.getNotAfter().toInstant().isBefore(now.plus(SOON))) {
        warnings.add("The certificate ends on " + c.getNotAfter().toInstant() + ", within "
            + SOON.toDays() + " days.");
      }
    }
    if (chain.size() == 1 && leaf.getIssuerX500Principal().equals(leaf.getSubjectX500Principal())) {
      warnings.add("The certificate is self-signed: mail clients will warn about it as they do now.");
    } else if (chain.size() == 1) {
      warnings.add("Only the server's certificate was given, no intermediate: clients that do not have the"
          + " issuer (" + leaf.getIssuerX500Principal().getName() + ") will refuse it. Paste the whole chain.");
    }
    return new Result(List.copyOf(problems), List.copyOf(warnings), subject(leaf),
        leaf.getIssuerX500Principal().getName(), leaf.getNotAfter().toInstant(), names, pem(chain),
        "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'})
            .encodeToString(key.getEncoded()) + "\n-----END PRIVATE KEY-----\n");
  }

  private static Result refused(String why) {
    return new Result(List.of(why), List.of(), null, null, null, List.of(), null, null);
  }

  static List<X509Certificate> certificates(String text) {
    if (text.contains("PRIVATE KEY-----")) {
      throw new IllegalArgumentException("The certificate field holds a private key: paste the key in the key"
          + " field and the certificates here.");
    }
    if (!text.contains("-----BEGIN CERTIFICATE-----")) {
      throw new IllegalArgumentException("No certificate found: paste PEM text starting with"
          + " -----BEGIN CERTIFICATE-----.");
    }
    Collection<? extends java.security.cert.Certificate> all;
    try {
      all = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(text.strip().getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException("The certificate text is not valid PEM: " + e.getMessage());
    }
    if (all.isEmpty()) {
      throw new IllegalArgumentException("No certificate found in the text.");
    }
    if (all.size() > MAX_CERTS) {
      throw new IllegalArgumentException("At most " + MAX_CERTS + " certificates in a chain.");
    }
    List<X509Certificate> out = new ArrayList<>();
    all.forEach(c -> out.add((X509Certificate) c));
    return out;
  }

  static PrivateKey key(String text) {
    Object o;
    try (PEMParser p = new PEMParser(new StringReader(text.strip()))) {
      o = p.readObject();
      if (o != null && p.readObject() != null) {
        throw new IllegalArgumentException("The key field holds more than one PEM block: paste the private key"
            + " alone.");
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException i) {
        throw i;
      }
      throw new IllegalArgumentException("The key text is not valid PEM: " + e.getMessage());
    }
    if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
      throw new IllegalArgumentException("The key is protected by a passphrase: remove it first (openssl pkey"
          + " -in key.pem -out plain.pem) and paste that.");
    }
    try {
      JcaPEMKeyConverter c = new JcaPEMKeyConverter();
      if (o instanceof PEMKeyPair kp) {
        return c.getPrivateKey(kp.getPrivateKeyInfo());
      }
      if (o instanceof PrivateKeyInfo info) {
        return c.getPrivateKey(info);
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("The key cannot be read: " + e.getMessage());
    }
    throw new IllegalArgumentException("No private key found: paste PEM text starting with -----BEGIN PRIVATE"
        + " KEY----- (or RSA / EC PRIVATE KEY).");
  }

  /** Does {@code key} make signatures {@code pub} verifies? (Works for RSA, EC and EdDSA keys alike.) */
  static boolean matches(PrivateKey key, PublicKey pub) {
    String alg = switch (key.getAlgorithm().toUpperCase(Locale.ROOT)) {
      case "RSA" -> "SHA256withRSA";
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "ED25519", "EDDSA" -> "Ed25519";
      default -> null;
    };
    if (alg == null || !key.getAlgorithm().equalsIgnoreCase(pub.getAlgorithm())
        && !(alg.equals("SHA256withECDSA") && pub.getAlgorithm().startsWith("EC"))) {
      return false;
    }
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(challenge);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(pub);
      v.update(challenge);
      return v.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static boolean signedBy(X509Certificate c, X509Certificate issuer) {
    if (!c.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
      return false;
    }
    try {
      c.verify(issuer.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  static List<String> dnsNames(X509Certificate c) {
    List<String> out = new ArrayList<>();
    try {
      var sans = c.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (san.size() == 2 && Integer.valueOf(2).equals(san.get(0))) {
            out.add(String.valueOf(san.get(1)).toLowerCase(Locale.ROOT));
          }
        }
      }
    } catch (java.security.cert.CertificateParsingException e) {
      // no names
    }
    return out;
  }

  /** RFC 6125 §6.4.3: an exact match, or "*." matching exactly one leftmost label. */
  static boolean nameMatches(String pattern, String host) {
    String p = pattern.toLowerCase(Locale.ROOT);
    String h = host.toLowerCase(Locale.ROOT);
    if (p.equals(h)) {
      return true;
    }
    if (p.startsWith("*.")) {
      int dot = h.indexOf('.');
      return dot > 0 && h.substring(dot).equals(p.substring(1));
    }
    return false;
  }

  private static String subject(X509Certificate c) {
    return c.getSubjectX500Principal().getName();
  }

  static String pem(List<X509Certificate> chain) {
    StringBuilder b = new StringBuilder();
    for (X509Certificate c : chain) {
      try {
        b.append("-----BEGIN CERTIFICATE-----\n")
            .append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(c.getEncoded()))
            .append("\n-----END CERTIFICATE-----\n");
      } catch (java.security.cert.CertificateEncodingException e) {
        throw new IllegalStateException(e);
      }
    }
    return b.toString();
  }
}
