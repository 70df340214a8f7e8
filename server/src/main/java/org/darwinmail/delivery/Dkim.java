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
import java.security.interfaces.EdECPrivateKey;
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
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * DKIM signing (RFC 6376) with rsa-sha256 and ed25519-sha256 (RFC 8463), relaxed/relaxed canonicalization. Per
 * domain a 2048-bit RSA key (selector {@code darwin}) and an Ed25519 key (selector {@code darwin-ed}), generated
 * when the domain is added or at first use, stored as PEM in {@code data_dir/dkim/DOMAIN.SELECTOR.key|.pub}
 * (mode 0600); on PostgreSQL in the shared database first, the files a cache of it ({@link #share}). The body hash is computed while streaming the stored message; nothing is held whole in memory but
 * the header section.
 */
public final class Dkim {
  /** Headers signed when present (RFC 6376 §5.4.1 recommends these); From: is required. */
  private static final List<String> SIGNED = List.of("from", "reply-to", "subject", "date", "to", "cc", "message-id",
      "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding", "list-id",
      "list-unsubscribe");
  private static final int MAX_HEADER = 256 * 1024;

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Dkim.class);
  private final Path dir;
  private final String selector;
  /** The shared database's keys (several nodes), or null: this node's files alone. */
  private volatile org.darwinmail.store.SharedKeys shared;
  private final ConcurrentHashMap<String, KeyPair> keys = new ConcurrentHashMap<>();
  /**
   * The Ed25519 keys in Bouncy Castle's form, by domain: its signer takes 0.07 ms here where the JDK's takes 1.2 ms
   * (measured on this kind of machine), which was a tenth of the CPU of relaying a message.
   */
  private final ConcurrentHashMap<String, Ed25519PrivateKeyParameters> edKeys = new ConcurrentHashMap<>();

  /** The signing algorithms (RFC 6376 §3.3, RFC 8463); each has its own key and selector. */
  public enum Algorithm {
    RSA("rsa-sha256", "rsa", ""), ED25519("ed25519-sha256", "ed25519", "-ed");

    final String tag;
    final String keyType;
    final String selectorSuffix;

    Algorithm(String tag, String keyType, String selectorSuffix) {
      this.tag = tag;
      this.keyType = keyType;
      this.selectorSuffix = selectorSuffix;
    }
  }

  public Dkim(Path dataDir, String selector) {
    this.dir = org.darwinmail.store.DataDir.of(dataDir).dkim();
    this.selector = selector;
  }

  /** The selector of the RSA key; the Ed25519 key's is this with "-ed". */
  public String selector() {
    return selector;
  }

  public String selector(Algorithm a) {
    return selector + a.selectorSuffix;
  }

  /** The RSA key of {@code domain}, generated and stored on first use. */
  public PrivateKey key(String domain) {
    return keyPair(domain, Algorithm.RSA).getPrivate();
  }

  /** Both keys of {@code domain}, generated and stored on first use. */
  public void ensureKeys(String domain) {
    for (Algorithm a : Algorithm.values()) {
      keyPair(domain, a);
    }
  }

  private KeyPair keyPair(String domain, Algorithm a) {
    return keys.computeIfAbsent(domain + " " + a, k -> loadOrCreate(domain, a));
  }

  /**
   * Keeps the keys in the shared database (PostgreSQL, several nodes; ARCHITECTURE.md, "Several nodes"): a key is
   * read from there first, and one this node makes or finds in its own files is claimed there by insert, the first
   * node's winning; the files stay as a cache written from the database (backups, {@code store migrate --to derby}).
   */
  public Dkim share(org.darwinmail.store.SharedKeys shared) {
    this.shared = shared;
    return this;
  }

  /**
   * Claims in the shared database every key of the current selectors found in this node's {@code dkim/} folder
   * (a data directory moved by {@code store migrate}, or keys an operator copied between nodes): the database's
   * key wins where it has one. Returns the domains whose keys were looked at.
   */
  public List<String> claimLocalKeys() {
    List<String> domains = new ArrayList<>();
    if (shared == null || !Files.isDirectory(dir)) {
      return domains;
    }
    try (var files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        String name = f.getFileName().toString();
        for (Algorithm a : Algorithm.values()) {
          String tail = "." + selector(a) + ".key";
          if (name.endsWith(tail) && name.length() > tail.length()) {
            String domain = name.substring(0, name.length() - tail.length());
            keyPair(domain, a);
            if (!domains.contains(domain)) {
              domains.add(domain);
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("DKIM keys in " + dir + ": " + e.getMessage(), e);
    }
    return domains;
  }

  private synchronized KeyPair loadOrCreate(String domain, Algorithm a) {
    String base = domain + "." + selector(a);
    Path file = dir.resolve(base + ".key");
    Path pubFile = dir.resolve(base + ".pub");
    String alg = a == Algorithm.RSA ? "RSA" : "Ed25519";
    try {
      org.darwinmail.store.SharedKeys db = shared;
      if (db != null) {
        return loadShared(db, domain, a, file, pubFile, alg);
      }
      KeyPair local = readLocal(file, pubFile, alg, a);
      if (local != null) {
        return local;
      }
      KeyPair kp = generate(alg, a);
      writePair(file, pubFile, kp);
      return kp;
    } catch (IOException e) {
      throw new UncheckedIOException("DKIM key " + file + ": " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("DKIM key " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * The database's key; when it has none, this node's files' key or a new one, claimed there by insert (the first
   * node's insert wins and every node uses that one). The files are then made to hold the database's key.
   */
  private KeyPair loadShared(org.darwinmail.store.SharedKeys db, String domain, Algorithm a, Path file, Path pubFile,
      String alg) throws IOException, GeneralSecurityException {
    String sel = selector(a);
    var stored = db.dkimKey(domain, sel);
    KeyPair local = readLocal(file, pubFile, alg, a);
    if (stored == null) {
      KeyPair mine = local != null ? local : generate(alg, a);
      stored = db.claimDkimKey(domain, sel, new org.darwinmail.store.SharedKeys.DkimKey(
          pemText("PRIVATE KEY", mine.getPrivate().getEncoded()), pemText("PUBLIC KEY", mine.getPublic().getEncoded())));
    }
    KeyFactory kf = KeyFactory.getInstance(alg);
    KeyPair kp = new KeyPair(kf.generatePublic(new java.security.spec.X509EncodedKeySpec(pemBytes(stored.publicPem()))),
        kf.generatePrivate(new PKCS8EncodedKeySpec(pemBytes(stored.privatePem()))));
    if (local == null || !java.util.Arrays.equals(local.getPublic().getEncoded(), kp.getPublic().getEncoded())) {
      if (local != null) {
        // Not the cluster's key (another node claimed first): kept aside, in case it was published somewhere.
        Files.move(file, dir.resolve(file.getFileName() + ".replaced"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        log.warn("DKIM: the key of {} selector {} in {} is not the one the cluster uses: replaced by it (the old"
            + " one kept as {}.replaced)", domain, sel, dir, file.getFileName());
      }
      writePair(file, pubFile, kp);
    }
    return kp;
  }

  /** The key pair in this node's files, or null when there is none. */
  private KeyPair readLocal(Path file, Path pubFile, String alg, Algorithm a)
      throws IOException, GeneralSecurityException {
    if (Files.exists(file) && Files.exists(pubFile)) {
      KeyFactory kf = KeyFactory.getInstance(alg);
      return new KeyPair(kf.generatePublic(new java.security.spec.X509EncodedKeySpec(pem(pubFile))),
          kf.generatePrivate(new PKCS8EncodedKeySpec(pem(file))));
    }
    if (Files.exists(file) && a == Algorithm.RSA) {
      // A key stored before the public half was kept beside it: derive it, keep the published key valid.
      RSAPrivateCrtKey k = (RSAPrivateCrtKey) KeyFactory.getInstance("RSA")
          .generatePrivate(new PKCS8EncodedKeySpec(pem(file)));
      PublicKey pub = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(k.getModulus(),
          k.getPublicExponent()));
      write(pubFile, "PUBLIC KEY", pub.getEncoded());
      return new KeyPair(pub, k);
    }
    return null;
  }

  private static KeyPair generate(String alg, Algorithm a) throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance(alg);
    if (a == Algorithm.RSA) {
      g.initialize(2048);
    }
    return g.generateKeyPair();
  }

  private void writePair(Path file, Path pubFile, KeyPair kp) throws IOException {
    Files.createDirectories(dir);
    write(pubFile, "PUBLIC KEY", kp.getPublic().getEncoded());
    write(file, "PRIVATE KEY", kp.getPrivate().getEncoded()); // written last: its presence means "complete"
  }

  private static byte[] pem(Path file) throws IOException {
    return pemBytes(Files.readString(file));
  }

  private static byte[] pemBytes(String pem) {
    return Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", "").strip());
  }

  private static String pemText(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  /** A PEM file, mode 0600, written to a temporary name, forced, then renamed. */
  private void write(Path file, String type, byte[] der) throws IOException {
    String pem = pemText(type, der);
    Path tmp = dir.resolve(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, pem, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** The TXT record for the RSA key at {@code SELECTOR._domainkey.DOMAIN} (RFC 6376 §3.6.1). */
  public String publicRecord(String domain) {
    return publicRecord(domain, Algorithm.RSA);
  }

  /**
   * The TXT record to publish at {@code selector(a)._domainkey.DOMAIN}: for RSA the SubjectPublicKeyInfo, for
   * Ed25519 the raw 32-byte key (RFC 8463 §4.2).
   */
  public String publicRecord(String domain, Algorithm a) {
    byte[] spki = keyPair(domain, a).getPublic().getEncoded();
    byte[] p = a == Algorithm.RSA ? spki : java.util.Arrays.copyOfRange(spki, spki.length - 32, spki.length);
    return "v=DKIM1; k=" + a.keyType + "; p=" + Base64.getEncoder().encodeToString(p);
  }

  /**
   * Signs a message read from {@code message} when its From: domain is one of ours ({@code local}), with RSA and
   * Ed25519 (RFC 8463 §3: both, so that verifiers without Ed25519 still find a valid signature); returns the
   * DKIM-Signature header fields (CRLF-terminated) to put in front of it, or null when it is not ours to sign.
   */
  public String sign(InputStream unbuffered, Predicate<String> local) throws IOException {
    // The header is read a byte at a time: unbuffered, each byte was a read(2) (7% of the relay's CPU).
    InputStream message = new java.io.BufferedInputStream(unbuffered, 16 * 1024);
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
    long t = Instant.now().getEpochSecond();
    // Ed25519 first: a header added later is on top, and verifiers try the top one first.
    return signature(Algorithm.ED25519, domain, t, names, bh, signedData)
        + signature(Algorithm.RSA, domain, t, names, bh, signedData);
  }

  /** One DKIM-Signature field (RFC 6376 §3.5), the b= value computed over the headers then itself (§3.7). */
  private String signature(Algorithm a, String domain, long t, List<String> names, byte[] bh,
      StringBuilder headers) {
    String value = " v=1; a=" + a.tag + "; c=relaxed/relaxed; d=" + domain + "; s=" + selector(a) + ";\r\n\tt="
        + t + "; h=" + String.join(":", names) + ";\r\n\tbh=" + Base64.getEncoder().encodeToString(bh)
        + ";\r\n\tb=";
    String unsigned = "DKIM-Signature:" + value;
    byte[] data = (headers + relaxedHeader(unsigned)).getBytes(StandardCharsets.UTF_8);
    try {
      byte[] sig;
      if (a == Algorithm.RSA) {
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(keyPair(domain, a).getPrivate());
        s.update(data);
        sig = s.sign();
      } else {
        // RFC 8463 §3: PureEdDSA over the SHA-256 hash of the data.
        Ed25519PrivateKeyParameters k = edKeys.computeIfAbsent(domain, d -> new Ed25519PrivateKeyParameters(
            ((EdECPrivateKey) keyPair(d, a).getPrivate()).getBytes().orElseThrow(), 0));
        byte[] hash = MessageDigest.getInstance("SHA-256").digest(data);
        Ed25519Signer s = new Ed25519Signer();
        s.init(true, k);
        s.update(hash, 0, hash.length);
        sig = s.generateSignature();
      }
      String b = Base64.getEncoder().encodeToString(sig);
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

}
