package org.darwinmail.net;

import io.netty.channel.Channel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.KeyPairGenerator;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.darwinmail.config.TlsConfig;
import org.darwinmail.store.AtomicFile;
import org.darwinmail.store.DataDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's TLS context: TLS 1.2 and 1.3 only, AEAD cipher suites with forward secrecy only, no client-initiated
 * renegotiation. The certificate is the configured one, or a self-signed one generated on first start under
 * {@code <data_dir>/tls/} (ARCHITECTURE.md, "The data directory"), kept across restarts and upgrades and replaced at a start that finds it
 * within {@link #RENEW_BEFORE} of its end.
 */
public final class Tls {
  private static final Logger log = LoggerFactory.getLogger(Tls.class);
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
  /**
   * TLS 1.3 suites (all AEAD), then TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305: no CBC (Lucky Thirteen and
   * the padding-oracle family), no static RSA key exchange (no forward secrecy). ECDSA suites serve an ECDSA key.
   */
  static final List<String> CIPHERS = List.of(
      "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
  /**
   * The life of a generated self-signed certificate: 825 days, the longest Apple's clients accept for a certificate
   * trusted by hand (iOS 13 / macOS 10.15), which is how a self-signed one is used; a start within
   * {@link #RENEW_BEFORE} of its end makes a new one.
   */
  static final Duration SELF_SIGNED_LIFE = Duration.ofDays(825);
  static final Duration RENEW_BEFORE = Duration.ofDays(30);

  static {
    // Client-initiated renegotiation (TLS 1.2; TLS 1.3 has none) lets a client make the server redo the costly
    // side of a handshake at will (CVE-2011-1473) and buys nothing: refuse it. The JDK reads this once, at the
    // first server handshake of the process; the server loads this class before it listens anywhere.
    System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
  }
  /** Replaced whole by {@link #reload}: a handshake uses the context it read; new connections get the new one. */
  private volatile SslContext server;
  private final Path certFile;
  private final Path keyFile;

  private Tls(SslContext server, Path certFile, Path keyFile) {
    this.server = server;
    this.certFile = certFile;
    this.keyFile = keyFile;
  }

  public static Tls load(TlsConfig config, Path dataDir, String hostname) {
    return load(config, dataDir, hostname, java.util.List.of());
  }

  /**
   * As above; a self-signed certificate made here (at the first start, or in place of one near its end) also names
   * {@code otherNames} (the {@code mta-sts.<domain>} names of {@code [mta_sts]}). A certificate that exists is not
   * made anew for them: it may be one the administrator uploaded, and senders accept an MTA-STS policy only over a
   * CA's certificate anyway (ACME adds the names).
   */
  public static Tls load(TlsConfig config, Path dataDir, String hostname, java.util.List<String> otherNames) {
    Path cert;
    Path key;
    if (!config.certFile().isEmpty()) {
      cert = Path.of(config.certFile());
      key = Path.of(config.keyFile());
    } else {
      cert = DataDir.of(dataDir).tlsCert();
      key = DataDir.of(dataDir).tlsKey();
      if (!Files.exists(cert) || !Files.exists(key)) {
        generateSelfSigned(cert, key, hostname, otherNames, SELF_SIGNED_LIFE);
      }
    }
    finishInstall(cert, key);
    // Any self-signed certificate near its end, the generated one or a configured one (the appliance's, made at
    // first boot): a certificate from a CA is renewed by whoever got it, never here.
    if (selfSignedAndEnding(cert)) {
      log.info("the self-signed TLS certificate {} ends within {} days: making a new one", cert,
          RENEW_BEFORE.toDays());
      try {
        generateSelfSigned(cert, key, hostname, otherNames, SELF_SIGNED_LIFE);
      } catch (RuntimeException e) {
        log.warn("cannot replace the TLS certificate {}: {}; serving it as it is", cert, e.getMessage());
      }
    }
    return new Tls(context(cert, key), cert, key);
  }

  /**
   * True when {@link #load} would only read files (the certificate and key exist, no install is pending): it may then
   * run before the store has accepted the data directory, on a thread of its own (DarwinMail.start).
   */
  public static boolean readyToLoad(TlsConfig config, Path dataDir) {
    Path cert = config.certFile().isEmpty() ? DataDir.of(dataDir).tlsCert() : Path.of(config.certFile());
    Path key = config.certFile().isEmpty() ? DataDir.of(dataDir).tlsKey() : Path.of(config.keyFile());
    return Files.exists(cert) && Files.exists(key) && !Files.exists(incoming(cert));
  }

  private static SslContext context(Path cert, Path key) {
    try {
      // Issue 22: Netty's builder probes the key's format (several parsers and failed attempts) and its server
      // context's class initialisation builds a throw-away key store: together a third of the TLS set-up at a
      // start. An unencrypted PKCS #8 key (what generateSelfSigned writes, and openssl's default) is read here and
      // Netty's JdkSslContext wraps the JDK context made from it; any other key format goes through Netty's builder.
      SSLContext jdk = jdkContext(cert, key);
      if (jdk != null) {
        return new JdkSslContext(jdk, false, CIPHERS, SupportedCipherSuiteFilter.INSTANCE,
            ApplicationProtocolConfig.DISABLED, ClientAuth.NONE, PROTOCOLS, false);
      }
      return SslContextBuilder.forServer(cert.toFile(), key.toFile()).protocols(PROTOCOLS)
          .ciphers(CIPHERS, SupportedCipherSuiteFilter.INSTANCE).build();
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new IllegalStateException("cannot load TLS certificate " + cert + " / key " + key + ": " + e.getMessage(), e);
    }
  }

  /**
   * The JDK's TLS context for the chain in {@code cert} and the key in {@code key}, or null when the key file holds
   * anything but one unencrypted PKCS #8 key ({@code BEGIN PRIVATE KEY}, RFC 7468 §10): the caller lets Netty read
   * the other formats (PKCS #1, SEC 1, encrypted).
   */
  private static SSLContext jdkContext(Path cert, Path key) throws IOException, GeneralSecurityException {
    String pem = Files.readString(key, StandardCharsets.US_ASCII);
    var m = PKCS8.matcher(pem);
    if (!m.find() || pem.indexOf("-----BEGIN", m.end()) >= 0 || pem.lastIndexOf("-----BEGIN", m.start() - 1) >= 0) {
      return null;
    }
    java.security.cert.Certificate[] chain;
    try (var in = Files.newInputStream(cert)) {
      chain = CertificateFactory.getInstance("X.509").generateCertificates(in).toArray(java.security.cert.Certificate[]::new);
    }
    if (chain.length == 0) {
      throw new GeneralSecurityException("no certificate in " + cert);
    }
    byte[] der = java.util.Base64.getMimeDecoder().decode(m.group(1));
    java.security.PrivateKey pk = java.security.KeyFactory.getInstance(chain[0].getPublicKey().getAlgorithm())
        .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der));
    // JKS protects a key with one cheap pass (PKCS #12's default is 10,000 PBE iterations): the store lives only
    // here, in memory, to hand the pair to the JDK's key manager.
    char[] none = new char[0];
    KeyStore ks = KeyStore.getInstance("JKS");
    ks.load(null, null);
    ks.setKeyEntry("server", pk, none, chain);
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, none);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    return ctx;
  }

  private static final java.util.regex.Pattern PKCS8 = java.util.regex.Pattern.compile(
      "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]{1,65536})-----END PRIVATE KEY-----");

  /**
   * Reads the certificate and key files again: every listener's next handshake uses them, no restart needed. When
   * they do not load, the old context stays in use and the exception says why.
   */
  public void reload() {
    server = context(certFile, keyFile);
    log.info("TLS certificate {} reloaded", certFile);
  }

  /**
   * Installs a new certificate chain and its key (both PEM, already checked by the caller) and reloads. The pair is
   * first written whole to {@code CERT.incoming} (one atomic write: the commit point), then the key and the chain
   * each atomically to their files; a start that finds {@code CERT.incoming} (a crash between the two files)
   * finishes the install, so a mismatched pair is never served.
   */
  public void install(String chainPem, String keyPem) {
    synchronized (this) {
      installHere(chainPem, keyPem);
    }
    org.darwinmail.store.SharedKeys db = shared;
    if (db != null) {
      // Several nodes: every other node hears of it on the cluster event channel and installs it too (follow).
      db.storeCertificate(chainPem, keyPem);
      log.info("TLS certificate stored in the shared database for the other nodes");
    }
  }

  private void installHere(String chainPem, String keyPem) {
    Path incoming = incoming(certFile);
    AtomicFile.write(incoming, (keyPem.strip() + "\n" + chainPem.strip() + "\n").getBytes(StandardCharsets.US_ASCII));
    finishInstall(certFile, keyFile);
    reload();
  }

  /** The certificate the nodes share (PostgreSQL), or null: this node's files alone. */
  private volatile org.darwinmail.store.SharedKeys shared;

  /**
   * Serves the certificate the nodes of one PostgreSQL database share (ARCHITECTURE.md, "Several nodes"): the one
   * stored there now, if any, is installed at once (in place of this node's self-signed one or an older one); one
   * that another node installs later (console upload, ACME) is installed when the cluster event channel says so
   * (and when it reconnects, events having maybe been missed); one installed here is stored there. The server calls
   * this only when {@code [tls]} names no files: those win over everything.
   */
  public void share(org.darwinmail.store.SharedKeys keys, org.darwinmail.store.ClusterEvents cluster) {
    this.shared = keys;
    follow();
    cluster.subscribe(org.darwinmail.store.ClusterEvents.Topic.CERTIFICATE,
        key -> Thread.ofVirtual().name("tls-follow").start(() -> {
          try {
            follow();
          } catch (RuntimeException e) {
            log.warn("cannot install the cluster's TLS certificate: {}; serving the one before", e.getMessage());
          }
        }));
  }

  /** Installs the shared database's certificate when it is not the one served; true when it did. */
  public synchronized boolean follow() {
    org.darwinmail.store.SharedKeys db = shared;
    var c = db == null ? null : db.certificate();
    if (c == null) {
      return false;
    }
    try {
      if (Files.exists(certFile) && Files.exists(keyFile)
          && blocks(Files.readString(certFile, StandardCharsets.US_ASCII)).equals(blocks(c.chainPem()))
          && blocks(Files.readString(keyFile, StandardCharsets.US_ASCII)).equals(blocks(c.keyPem()))) {
        return false;
      }
    } catch (IOException e) {
      // unreadable here: installed anew below
    }
    installHere(c.chainPem(), c.keyPem());
    log.info("installed the cluster's TLS certificate (stored {} by node {})", c.installedAt(), c.node());
    return true;
  }

  /** The PEM blocks of {@code pem}, whitespace removed: two texts of the same certificates compare equal. */
  private static String blocks(String pem) {
    StringBuilder b = new StringBuilder();
    var m = java.util.regex.Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \\1-----",
        java.util.regex.Pattern.DOTALL).matcher(pem);
    while (m.find()) {
      b.append(m.group().replaceAll("\\s", ""));
    }
    return b.toString();
  }

  private static Path incoming(Path cert) {
    return cert.resolveSibling(cert.getFileName() + ".incoming");
  }

  /** Splits a pending {@code CERT.incoming} into the key and chain files, then removes it. */
  private static void finishInstall(Path cert, Path key) {
    Path incoming = incoming(cert);
    if (!Files.exists(incoming)) {
      return;
    }
    try {
      String all = Files.readString(incoming, StandardCharsets.US_ASCII);
      StringBuilder chain = new StringBuilder();
      StringBuilder keyPem = new StringBuilder();
      var m = java.util.regex.Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \\1-----", java.util.regex.Pattern.DOTALL)
          .matcher(all);
      while (m.find()) {
        (m.group(1).contains("PRIVATE KEY") ? keyPem : chain).append(m.group()).append('\n');
      }
      if (chain.isEmpty() || keyPem.isEmpty()) {
        log.warn("ignoring {}: it holds no certificate and key", incoming);
      } else {
        AtomicFile.write(key, keyPem.toString().getBytes(StandardCharsets.US_ASCII));
        AtomicFile.write(cert, chain.toString().getBytes(StandardCharsets.US_ASCII));
        log.info("installed the new TLS certificate in {}", cert);
      }
      Files.delete(incoming);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot install " + incoming + ": " + e.getMessage(), e);
    }
  }


  /**
   * True when {@code pem} is self-signed (issuer = subject, signed by its own key: one this class made, not one
   * the administrator put in its place) and ends within {@link #RENEW_BEFORE}.
   */
  private static boolean selfSignedAndEnding(Path pem) {
    try (var in = Files.newInputStream(pem)) {
      X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      if (!c.getIssuerX500Principal().equals(c.getSubjectX500Principal())) {
        return false;
      }
      // The date first: the signature check (an RSA verification) only for a certificate near its end.
      if (!c.getNotAfter().toInstant().isBefore(Instant.now().plus(RENEW_BEFORE))) {
        return false;
      }
      c.verify(c.getPublicKey());
      return true;
    } catch (IOException | GeneralSecurityException e) {
      return false; // not ours to replace; loading it says what is wrong
    }
  }

  /**
   * A 2048-bit RSA key and a self-signed certificate naming {@code hostname}, valid for {@code life}, written to
   * {@code key} and {@code cert} (each through a temporary file beside it, moved into place).
   */
  public static void generateSelfSigned(Path cert, Path key, String hostname, Duration life) {
    generateSelfSigned(cert, key, hostname, java.util.List.of(), life);
  }

  /** As above, {@code otherNames} also in the subject alternative names. */
  public static void generateSelfSigned(Path cert, Path key, String hostname, java.util.List<String> otherNames,
      Duration life) {
    try {
      Files.createDirectories(cert.toAbsolutePath().getParent());
      Files.createDirectories(key.toAbsolutePath().getParent());
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048, new SecureRandom());
      KeyPair kp = g.generateKeyPair();
      X500Name name = new X500Name("CN=" + hostname.replaceAll("[,+=\"\\\\<>;]", ""));
      Instant from = Instant.now().minus(Duration.ofDays(1)); // a client whose clock is a little behind
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()),
          Date.from(from), Date.from(from.plus(life)), name, kp.getPublic());
      java.util.List<GeneralName> sans = new java.util.ArrayList<>();
      sans.add(new GeneralName(GeneralName.dNSName, hostname));
      for (String n : otherNames) {
        if (!n.equalsIgnoreCase(hostname)) {
          sans.add(new GeneralName(GeneralName.dNSName, n));
        }
      }
      b.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(sans.toArray(GeneralName[]::new)));
      var holder = b.build(new JcaContentSignerBuilder("SHA256withRSA").build(kp.getPrivate()));
      Path tmpKey = key.resolveSibling(key.getFileName() + ".tmp");
      Files.deleteIfExists(tmpKey);
      Files.createFile(tmpKey, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (Writer w = Files.newBufferedWriter(tmpKey); JcaPEMWriter pw = new JcaPEMWriter(w)) {
        pw.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(kp.getPrivate(), null));
      }
      Path tmpCert = cert.resolveSibling(cert.getFileName() + ".tmp");
      try (Writer w = Files.newBufferedWriter(tmpCert); JcaPEMWriter pw = new JcaPEMWriter(w)) {
        pw.writeObject(holder);
      }
      Files.move(tmpKey, key, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      Files.move(tmpCert, cert, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      log.info("generated a self-signed TLS certificate for {} in {}", hostname, cert);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot generate a TLS certificate: " + e.getMessage(), e);
    }
  }

  public SslContext context() {
    return server;
  }

  public Path certFile() {
    return certFile;
  }

  public Path keyFile() {
    return keyFile;
  }

  public SslHandler newHandler(Channel ch, boolean startTls) {
    return new SslHandler(server.newEngine(ch.alloc()), startTls);
  }

  /**
   * STARTTLS (RFC 3207 §4, RFC 2595 §3.1, RFC 3501 §6.2.1): discards what the client pipelined after the command,
   * inserts the TLS handler, sends {@code reply} in the clear as the last plaintext, and resumes framing. Blocks
   * the calling (virtual) thread until that is done. The framer must have paused after the command.
   */
  public void startTls(Channel ch, FrameDecoder framer, String reply) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    ch.eventLoop().execute(() -> {
      try {
        framer.discardBuffered();
        ch.pipeline().addFirst("tls", newHandler(ch, true));
        ch.writeAndFlush(io.netty.buffer.Unpooled.copiedBuffer(reply + "\r\n", java.nio.charset.StandardCharsets.US_ASCII));
        framer.resume();
        done.complete(null);
      } catch (RuntimeException e) {
        done.completeExceptionally(e);
      }
    });
    done.join();
  }
}
