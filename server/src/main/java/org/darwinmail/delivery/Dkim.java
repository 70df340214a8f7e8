package org.darwinmail.delivery;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * DKIM signing (RFC 6376) with rsa-sha256 and relaxed/relaxed canonicalization. One 2048-bit key per domain,
 * generated when the domain is added or at first use, stored as PKCS#8 PEM in {@code data_dir/dkim/DOMAIN.SELECTOR.key}
 * (mode 0600). The body hash is computed while streaming the stored message; nothing is held whole in memory but
 * the header section.
 */
public final class Dkim {
  /** Headers signed when present (RFC 6376 §5.4.1 recommends these); From: is required. */
  private static final List<String> SIGNED = List.of("from", "reply-to", "subject", "date", "to", "cc", "message-id",
      "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding", "list-id",
      "list-unsubscribe");
  private static final int MAX_HEADER = 256 * 1024;

  private final Path dir;
  private final String selector;
  private final ConcurrentHashMap<String, PrivateKey> keys = new ConcurrentHashMap<>();

  public Dkim(Path dataDir, String selector) {
    this.dir = dataDir.resolve("dkim");
    this.selector = selector;
  }

  public String selector() {
    return selector;
  }

  /** The key of {@code domain}, generated and stored on first use. */
  public PrivateKey key(String domain) {
    return keys.computeIfAbsent(domain, this::loadOrCreate);
  }

  private synchronized PrivateKey loadOrCreate(String domain) {
    Path file = dir.resolve(domain + "." + selector + ".key");
    try {
      if (Files.exists(file)) {
        String pem = Files.readString(file);
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", "").strip());
        return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
      }
      Files.createDirectories(dir);
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048);
      KeyPair kp = g.generateKeyPair();
      String pem = "-----BEGIN PRIVATE KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(kp.getPrivate().getEncoded())
          + "\n-----END PRIVATE KEY-----\n";
      Path tmp = dir.resolve(domain + "." + selector + ".key.tmp");
      Files.deleteIfExists(tmp);
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(tmp, pem, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
      Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      return kp.getPrivate();
    } catch (IOException e) {
      throw new UncheckedIOException("DKIM key " + file + ": " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("DKIM key " + file + ": " + e.getMessage(), e);
    }
  }

  /** The TXT record to publish at {@code SELECTOR._domainkey.DOMAIN} (RFC 6376 §3.6.1). */
  public String publicRecord(String domain) {
    try {
      RSAPrivateCrtKey k = (RSAPrivateCrtKey) key(domain);
      PublicKey pub = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(k.getModulus(),
          k.getPublicExponent()));
      return "v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(pub.getEncoded());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Signs a message read from {@code message} when its From: domain is one of ours ({@code local}); returns the
   * DKIM-Signature header field (CRLF-terminated) to put in front of it, or null when it is not ours to sign.
   */
  public String sign(InputStream message, Predicate<String> local) throws IOException {
    byte[] head = readHeader(message);
    List<String> fields = fields(new String(head, StandardCharsets.UTF_8));
    String from = null;
    for (String f : fields) {
      if (name(f).equals("from")) {
        from = f;
      }
    }
    String domain = from == null ? null : fromDomain(from);
    if (domain == null || !local.test(domain)) {
      return null;
    }
    byte[] bh = bodyHash(message);
    List<String> names = new ArrayList<>();
    StringBuilder signedData = new StringBuilder();
    for (String n : SIGNED) {
      String last = null;
      for (String f : fields) {
        if (name(f).equals(n)) {
          last = f;
        }
      }
      if (last != null) {
        names.add(n);
        signedData.append(relaxedHeader(last)).append("\r\n");
      }
    }
    String value = " v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + domain + "; s=" + selector + ";\r\n\tt="
        + Instant.now().getEpochSecond() + "; h=" + String.join(":", names) + ";\r\n\tbh="
        + Base64.getEncoder().encodeToString(bh) + ";\r\n\tb=";
    String unsigned = "DKIM-Signature:" + value;
    signedData.append(relaxedHeader(unsigned));
    try {
      Signature s = Signature.getInstance("SHA256withRSA");
      s.initSign(key(domain));
      s.update(signedData.toString().getBytes(StandardCharsets.UTF_8));
      String b = Base64.getEncoder().encodeToString(s.sign());
      StringBuilder folded = new StringBuilder(unsigned);
      for (int i = 0; i < b.length(); i += 64) {
        folded.append(i == 0 ? "" : "\r\n\t ").append(b, i, Math.min(b.length(), i + 64));
      }
      return folded.append("\r\n").toString();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("DKIM signing: " + e.getMessage(), e);
    }
  }

  /** Reads through the blank line that ends the header section (bounded). */
  private static byte[] readHeader(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream(4096);
    int prev2 = -1;
    int prev = -1;
    while (b.size() < MAX_HEADER) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      b.write(c);
      if (c == '\n' && (prev == '\n' || (prev == '\r' && prev2 == '\n'))) {
        break;
      }
      if (b.size() <= 2 && c == '\n') {
        break; // no header section at all
      }
      prev2 = prev;
      prev = c;
    }
    return b.toByteArray();
  }

  /** Header fields as written (folding kept, line ends as CRLF), in order. */
  static List<String> fields(String section) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = null;
    for (String line : section.split("\r?\n")) {
      if (line.isEmpty()) {
        break;
      }
      if ((line.charAt(0) == ' ' || line.charAt(0) == '\t') && cur != null) {
        cur.append("\r\n").append(line);
        continue;
      }
      if (cur != null) {
        out.add(cur.toString());
      }
      cur = new StringBuilder(line);
    }
    if (cur != null) {
      out.add(cur.toString());
    }
    return out;
  }

  private static String name(String field) {
    int c = field.indexOf(':');
    return c < 0 ? "" : field.substring(0, c).strip().toLowerCase(Locale.ROOT);
  }

  /** RFC 6376 §3.4.2: lower-case name, unfold, compress WSP, trim around the colon and at the end. */
  static String relaxedHeader(String field) {
    int c = field.indexOf(':');
    String value = field.substring(c + 1).replace("\r\n", "").replaceAll("[ \t]+", " ").strip();
    return field.substring(0, c).strip().toLowerCase(Locale.ROOT) + ":" + value;
  }

  /** The domain of the (last) address in a From: field, or null. */
  static String fromDomain(String field) {
    String v = field.substring(field.indexOf(':') + 1).replace("\r\n", " ");
    int lt = v.lastIndexOf('<');
    int gt = v.lastIndexOf('>');
    String addr = lt >= 0 && gt > lt ? v.substring(lt + 1, gt) : v.strip();
    int at = addr.lastIndexOf('@');
    if (at < 0) {
      return null;
    }
    String d = addr.substring(at + 1).strip();
    return org.darwinmail.store.Addresses.domain(d.replaceAll("[\\s>;,].*$", ""));
  }

  /** RFC 6376 §3.4.4: relaxed body canonicalization, hashed as it streams. */
  static byte[] bodyHash(InputStream in) throws IOException {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    byte[] buf = new byte[64 * 1024];
    ByteArrayOutputStream line = new ByteArrayOutputStream(1024);
    long emptyLines = 0;
    boolean sawAny = false;
    int n;
    byte[] crlf = {'\r', '\n'};
    while ((n = in.read(buf)) > 0) {
      for (int i = 0; i < n; i++) {
        byte b = buf[i];
        if (b == '\n') {
          byte[] l = relaxedLine(line.toByteArray());
          line.reset();
          if (l.length == 0) {
            emptyLines++;
          } else {
            for (long k = 0; k < emptyLines; k++) {
              sha.update(crlf);
            }
            emptyLines = 0;
            sha.update(l);
            sha.update(crlf);
            sawAny = true;
          }
        } else {
          line.write(b);
        }
      }
    }
    byte[] l = relaxedLine(line.toByteArray());
    if (l.length > 0) {
      for (long k = 0; k < emptyLines; k++) {
        sha.update(crlf);
      }
      sha.update(l);
      sha.update(crlf);
    }
    return sha.digest();
  }

  /** One line without its LF: CR dropped at the end, WSP runs to one SP, trailing WSP removed. */
  private static byte[] relaxedLine(byte[] l) {
    int len = l.length;
    if (len > 0 && l[len - 1] == '\r') {
      len--;
    }
    ByteArrayOutputStream o = new ByteArrayOutputStream(len);
    boolean wsp = false;
    for (int i = 0; i < len; i++) {
      byte b = l[i];
      if (b == ' ' || b == '\t') {
        wsp = true;
        continue;
      }
      if (wsp) {
        o.write(' ');
        wsp = false;
      }
      o.write(b);
    }
    return o.toByteArray();
  }

  /** Domains with a key already generated (for listings). */
  public Set<String> loaded() {
    return keys.keySet();
  }
}
