package org.darwinmail.admin.tls;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.darwinmail.store.AtomicFile;
import org.darwinmail.config.HostPort;
import org.darwinmail.net.NetServer;
import org.darwinmail.net.Tls;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A certificate from an ACME CA (RFC 8555; Let's Encrypt by default) for the server's host name, and the
 * {@code mta-sts.<domain>} names of the domains publishing MTA-STS when they validate, with acme4j.
 *
 * <p>The challenge is HTTP-01 (RFC 8555 §8.3), answered by a small HTTP listener that is open only while an order
 * is validated, on {@code http01} (port 80 of every address on the appliance). TLS-ALPN-01 (RFC 8737 §3) is not
 * usable: the CA connects to port 443 only, which only the MTA-STS policy listener ({@code [listen] https}) owns, and
 * only where it is configured, and SMTP/IMAPS ports are not accepted by CAs; DNS-01 needs the DNS provider's API.
 * So port 80 must reach the appliance during an order and each renewal (nothing else listens there).
 *
 * <p>The account key and what was ordered are kept in {@code <data_dir>/tls/acme/} (mode 0600) so that
 * {@link AcmeRenewal} can renew before the end; the certificate is installed through {@link Tls#install} (atomic,
 * picked up by every listener without a restart).
 */
public final class Acme {
  private static final Logger log = LoggerFactory.getLogger(Acme.class);
  /** Let's Encrypt's production directory. */
  public static final String LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";

  /**
   * @param http01   where the HTTP-01 listener binds during an order ("0.0.0.0:80" on the appliance)
   * @param trust    the TLS trust for the CA's directory (null: the JDK's CAs; tests trust their own CA)
   * @param timeout  how long to wait for the CA's validation and issuance
   */
  public record Options(HostPort http01, SSLContext trust, Duration timeout) {
    public static Options defaults() {
      return new Options(HostPort.parse("acme.http01", "0.0.0.0:80"), null, Duration.ofMinutes(2));
    }
  }

  /** What was ordered last, for renewal; stored as {@code acme/order.properties}. */
  public record Ordered(String directory, String hostname, String email) {}

  private final Path dir;
  private final Options options;
  private final java.util.function.Supplier<List<String>> otherNames;

  public Acme(Path dataDir, Options options) {
    this(dataDir, options, List::of);
  }

  /**
   * {@code otherNames}: more names for every order and renewal besides the host name, read at each order (the
   * {@code mta-sts.<domain>} names of the domains publishing MTA-STS, RFC 8461 §3.3).
   */
  public Acme(Path dataDir, Options options, java.util.function.Supplier<List<String>> otherNames) {
    this.dir = org.darwinmail.store.DataDir.of(dataDir).tlsCert().resolveSibling("acme");
    this.options = options;
    this.otherNames = otherNames;
  }

  /** The CA could not validate one of the other names (not the host name). */
  private static final class OtherNameFailure extends AcmeFailure {
    OtherNameFailure(String message) {
      super(message);
    }
  }

  /**
   * Orders a certificate for {@code hostname} and the other names from {@code directory} (the account is made, or
   * found, with {@code email} as contact, agreeing to the CA's terms), installs it into {@code tls} and records the
   * order for renewal. When the CA cannot validate one of the other names (its DNS does not point here yet), the
   * certificate is ordered for the host name alone, so that mail's TLS never waits on MTA-STS. Throws
   * {@link AcmeFailure} with a message for the administrator.
   */
  public X509Certificate obtain(String directory, String hostname, String email, Tls tls) {
    List<String> others = otherNames.get().stream().map(n -> n.toLowerCase(java.util.Locale.ROOT))
        .filter(n -> !n.equalsIgnoreCase(hostname)).distinct().toList();
    if (!others.isEmpty()) {
      try {
        return obtain(directory, hostname, others, email, tls);
      } catch (OtherNameFailure e) {
        log.warn("ACME: {}; ordering a certificate for {} alone", e.getMessage(), hostname);
      }
    }
    return obtain(directory, hostname, List.of(), email, tls);
  }

  private X509Certificate obtain(String directory, String hostname, List<String> others, String email, Tls tls) {
    try {
      Session session = session(directory);
      AccountBuilder ab = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey());
      if (email != null && !email.isBlank()) {
        ab.addEmail(email.strip());
      }
      Account account = ab.create(session);
      Order order = account.newOrder().domain(hostname).domains(others).create();
      Map<String, String> tokens = new ConcurrentHashMap<>();
      try (NetServer http = new NetServer(1)) {
        http.bind("acme-http01", options.http01(), responder(tokens));
        for (Authorization auth : order.getAuthorizations()) {
          if (auth.getStatus() == Status.VALID) {
            continue;
          }
          Http01Challenge ch = auth.findChallenge(Http01Challenge.class).orElseThrow(() ->
              new AcmeFailure("The CA offers no HTTP-01 challenge for " + auth.getIdentifier().getDomain() + "."));
          tokens.put(ch.getToken(), ch.getAuthorization());
          ch.trigger();
          Status s = auth.waitForCompletion(options.timeout());
          String name = auth.getIdentifier().getDomain();
          if (s != Status.VALID && !name.equalsIgnoreCase(hostname)) {
            throw new OtherNameFailure("the CA could not validate " + name + " over HTTP: "
                + ch.getError().map(Object::toString).orElse(s.toString()));
          }
          if (s != Status.VALID) {
            throw new AcmeFailure("The CA could not validate " + hostname + " over HTTP on port "
                + options.http01().port() + ": " + ch.getError().map(Object::toString).orElse(s.toString())
                + ". Port 80 must reach this appliance, and " + hostname + " must point at it.");
          }
        }
      }
      KeyPair domainKey = newKey(2048);
      order.waitUntilReady(options.timeout());
      order.execute(domainKey);
      Status done = order.waitForCompletion(options.timeout());
      if (done != Status.VALID) {
        throw new AcmeFailure("The CA did not issue the certificate: " + order.getError().map(Object::toString)
            .orElse(done.toString()));
      }
      List<X509Certificate> chain = order.getCertificate().getCertificateChain();
      StringWriter keyPem = new StringWriter();
      try (JcaPEMWriter w = new JcaPEMWriter(keyPem)) {
        w.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(domainKey.getPrivate(), null));
      }
      CertificateUpload.Result checked = CertificateUpload.check(CertificateUpload.pem(chain), keyPem.toString(),
          hostname, Instant.now());
      if (!checked.ok()) {
        throw new AcmeFailure("The CA's certificate fails the checks: " + String.join(" ", checked.problems()));
      }
      tls.install(checked.chainPem(), checked.keyPem());
      record(new Ordered(directory, hostname, email == null ? "" : email.strip()));
      log.info("ACME: installed a certificate for {}{} from {}, valid until {}", hostname,
          others.isEmpty() ? "" : " and " + String.join(", ", others), directory,
          chain.getFirst().getNotAfter().toInstant());
      return chain.getFirst();
    } catch (AcmeException e) {
      throw new AcmeFailure("The CA refused: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AcmeFailure("Interrupted while waiting for the CA.", e);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new AcmeFailure("Cannot store the key or certificate: " + e.getMessage(), e);
    } catch (IllegalStateException e) {
      throw new AcmeFailure(e.getMessage(), e);
    }
  }

  private Session session(String directory) {
    URI uri = URI.create(directory);
    if (options.trust() == null) {
      return new Session(uri);
    }
    SSLContext trust = options.trust();
    return new Session(uri, new GenericAcmeProvider() {
      @Override
      public HttpClient createHttpClient(NetworkSettings settings) {
        return HttpClient.newBuilder().sslContext(trust).connectTimeout(settings.getTimeout())
            .followRedirects(HttpClient.Redirect.NORMAL).build();
      }
    });
  }

  /** RFC 8555 §8.3: GET /.well-known/acme-challenge/TOKEN answers the key authorization, as text. */
  private static ChannelInitializer<SocketChannel> responder(Map<String, String> tokens) {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192)).addLast(new HttpObjectAggregator(4096))
            .addLast(new SimpleChannelInboundHandler<FullHttpRequest>() {
              @Override
              protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                String prefix = "/.well-known/acme-challenge/";
                String uri = req.uri();
                String answer = uri.startsWith(prefix) ? tokens.get(uri.substring(prefix.length())) : null;
                byte[] body = (answer == null ? "not found" : answer).getBytes(StandardCharsets.US_ASCII);
                FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    answer == null ? HttpResponseStatus.NOT_FOUND : HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
                res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain")
                    .set(HttpHeaderNames.CONTENT_LENGTH, body.length);
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
              }

              @Override
              public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
              }
            });
      }
    };
  }

  /** The account's key pair, made at the first order and kept (RFC 8555 §7.3: the key identifies the account). */
  private KeyPair accountKey() throws IOException {
    Path f = dir.resolve("account.pem");
    if (Files.exists(f)) {
      try (PEMParser p = new PEMParser(new StringReader(Files.readString(f)))) {
        return new JcaPEMKeyConverter().getKeyPair((PEMKeyPair) p.readObject());
      }
    }
    KeyPair kp = newKey(2048);
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      pw.writeObject(kp);
    }
    AtomicFile.write(f, w.toString().getBytes(StandardCharsets.US_ASCII));
    return kp;
  }

  private static KeyPair newKey(int bits) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(bits);
      return g.generateKeyPair();
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void record(Ordered o) {
    String text = "directory=" + o.directory() + "\nhostname=" + o.hostname() + "\nemail=" + o.email() + "\n";
    AtomicFile.write(dir.resolve("order.properties"), text.getBytes(StandardCharsets.UTF_8));
  }

  /** The last order, or null when the certificate did not come from ACME. */
  public Ordered ordered() {
    Path f = dir.resolve("order.properties");
    if (!Files.exists(f)) {
      return null;
    }
    try {
      var p = new java.util.Properties();
      p.load(new StringReader(Files.readString(f)));
      return new Ordered(p.getProperty("directory"), p.getProperty("hostname"), p.getProperty("email", ""));
    } catch (IOException e) {
      log.warn("cannot read {}: {}", f, e.getMessage());
      return null;
    }
  }

  /** Forget the order (the administrator installed another certificate): no renewal from now on. */
  public void forget() {
    try {
      Files.deleteIfExists(dir.resolve("order.properties"));
    } catch (IOException e) {
      log.warn("cannot remove {}: {}", dir.resolve("order.properties"), e.getMessage());
    }
  }

  /** A refusal or failure to show the administrator as it is. */
  public static class AcmeFailure extends RuntimeException {
    AcmeFailure(String message) {
      super(message);
    }

    AcmeFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
