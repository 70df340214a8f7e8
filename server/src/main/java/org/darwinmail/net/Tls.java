package org.darwinmail.net;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.CompletableFuture;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.darwinmail.config.TlsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's TLS context (TLS 1.2 and 1.3 only). The certificate is the configured one, or a self-signed one
 * generated on first start under {@code <data_dir>/tls/} (ARCHITECTURE.md, "The data directory"), kept across restarts
 * and upgrades.
 */
public final class Tls {
  private static final Logger log = LoggerFactory.getLogger(Tls.class);
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
  private final SslContext server;
  private final Path certFile;

  private Tls(SslContext server, Path certFile) {
    this.server = server;
    this.certFile = certFile;
  }

  public static Tls load(TlsConfig config, Path dataDir, String hostname) {
    Path cert;
    Path key;
    if (!config.certFile().isEmpty()) {
      cert = Path.of(config.certFile());
      key = Path.of(config.keyFile());
    } else {
      Path dir = dataDir.resolve("tls");
      cert = dir.resolve("cert.pem");
      key = dir.resolve("key.pem");
      if (!Files.exists(cert) || !Files.exists(key)) {
        generateSelfSigned(dir, cert, key, hostname);
      }
    }
    try {
      SslContext ctx = SslContextBuilder.forServer(cert.toFile(), key.toFile()).protocols(PROTOCOLS).build();
      return new Tls(ctx, cert);
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("cannot load TLS certificate " + cert + " / key " + key + ": " + e.getMessage(), e);
    }
  }

  /** A 2048-bit RSA key and a ten-year self-signed certificate naming {@code hostname}. */
  public static void generateSelfSigned(Path dir, Path cert, Path key, String hostname) {
    try {
      Files.createDirectories(dir);
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048, new SecureRandom());
      KeyPair kp = g.generateKeyPair();
      X500Name name = new X500Name("CN=" + hostname.replaceAll("[,+=\"\\\\<>;]", ""));
      Instant now = Instant.now();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()),
          Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(3650))), name, kp.getPublic());
      b.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(new GeneralName(GeneralName.dNSName, hostname)));
      var holder = b.build(new JcaContentSignerBuilder("SHA256withRSA").build(kp.getPrivate()));
      Path tmpKey = dir.resolve("key.pem.tmp");
      Files.deleteIfExists(tmpKey);
      Files.createFile(tmpKey, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (Writer w = Files.newBufferedWriter(tmpKey); JcaPEMWriter pw = new JcaPEMWriter(w)) {
        pw.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(kp.getPrivate(), null));
      }
      Path tmpCert = dir.resolve("cert.pem.tmp");
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
