package org.darwinmail.admin.web;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import org.darwinmail.DarwinMail;
import org.darwinmail.store.AtomicFile;
import org.darwinmail.admin.settings.SettingsEngine;
import org.darwinmail.admin.tls.Acme;
import org.darwinmail.admin.tls.AcmeRenewal;
import org.darwinmail.config.HostPort;
import org.darwinmail.net.NetServer;
import org.darwinmail.net.Tls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin listener ({@code [listen] admin}): HTTPS on Netty's HTTP codec, on event loops of its own (one
 * acceptor, two workers) so that mail traffic and the console never starve each other; the server's certificate.
 * Pipeline, in order: connection limits (the guard's, as on every listener), TLS, HTTP codec (request line at most
 * {@link #MAX_LINE} bytes: 414; headers at most {@link #MAX_HEADERS}: 431), security headers, aggregation (a body
 * over {@link #MAX_BODY}: 413), {@link HttpGate} (request deadline, dispatch to {@link Api}).
 *
 * <p>While setup is not done, a one-time setup code is made at every start and shown in the log beside the
 * wizard's address and the certificate's SHA-256 fingerprint, and written to {@code <data_dir>/run/setup-code}
 * (mode 0600) for the appliance's console to show.
 */
public final class AdminWeb implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdminWeb.class);
  static final int MAX_LINE = 4096;
  static final int MAX_HEADERS = 16 * 1024;
  static final int MAX_BODY = 64 * 1024;

  /** Timings; the defaults are the server's, tests shorten them. */
  public record Options(Duration requestDeadline, Duration sessionIdle, Duration sessionMax, Duration wrongCodeDelay,
      Clock clock, Acme.Options acme, Duration historyStep) {
    /** The server's ACME options and the dashboard history's step: 5 minutes (288 steps keep 24 hours). */
    public Options(Duration requestDeadline, Duration sessionIdle, Duration sessionMax, Duration wrongCodeDelay,
        Clock clock) {
      this(requestDeadline, sessionIdle, sessionMax, wrongCodeDelay, clock, Acme.Options.defaults(),
          Duration.ofMinutes(5));
    }

    public Options(Duration requestDeadline, Duration sessionIdle, Duration sessionMax, Duration wrongCodeDelay,
        Clock clock, Acme.Options acme) {
      this(requestDeadline, sessionIdle, sessionMax, wrongCodeDelay, clock, acme, Duration.ofMinutes(5));
    }

    public Options(Duration requestDeadline, Duration sessionIdle, Duration sessionMax, Duration wrongCodeDelay,
        Clock clock, Duration historyStep) {
      this(requestDeadline, sessionIdle, sessionMax, wrongCodeDelay, clock, Acme.Options.defaults(), historyStep);
    }

    public static Options defaults() {
      return new Options(Duration.ofSeconds(30), Duration.ofMinutes(30), Duration.ofHours(12), Duration.ofSeconds(1),
          Clock.systemUTC());
    }
  }

  private final NetServer net;
  private final InetSocketAddress bound;
  private final Api api;
  private final AcmeRenewal renewal;
  private final MtaStsWeb policy;

  private AdminWeb(NetServer net, InetSocketAddress bound, Api api, AcmeRenewal renewal, MtaStsWeb policy) {
    this.net = net;
    this.bound = bound;
    this.api = api;
    this.renewal = renewal;
    this.policy = policy;
  }

  /**
   * Adds /metrics's Prometheus registry to Micrometer's global one. Called by {@code serve} before the server makes
   * its first meter: a registry added later sees the meters but counts only from then on (a message received while
   * the server started was missing from /metrics), and Micrometer warns about it.
   */
  public static void installMetrics() {
    Metrics.install();
  }

  public static AdminWeb start(DarwinMail mail) {
    return start(mail, Options.defaults());
  }

  /** Binds the admin listener (none when {@code [listen] admin} is ""; {@link #port} is then -1). */
  public static AdminWeb start(DarwinMail mail, Options o) {
    String address = mail.config().listen().admin();
    Path dataDir = mail.config().dataDir();
    Path codeFile = org.darwinmail.store.DataDir.of(dataDir).setupCode();
    var services = mail.services();
    SetupState setup = new SetupState(dataDir);
    // ACME orders add mta-sts.<domain> for the domains publishing MTA-STS (RFC 8461 §3.3: the policy's host).
    Acme acme = new Acme(dataDir, o.acme(),
        () -> mail.config().mtaSts().domains().stream().map(d -> "mta-sts." + d).toList());
    Api api = new Api(services.directory(), new SettingsEngine(dataDir, services.directory()),
        new AdminAccounts(dataDir), setup, new Sessions(o.sessionIdle(), o.sessionMax(), o.clock()),
        services.logins(), o.wrongCodeDelay(), codeFile);
    org.darwinmail.dns.Dns dns = new org.darwinmail.dns.Dns(mail.config().dns());
    // The delivery engine's keys: on PostgreSQL the shared database's, which the DNS records must name.
    org.darwinmail.delivery.Dkim dkim = services.delivery().dkim();
    WizardSteps steps = new WizardSteps(setup, new WizardSteps.Parts(dns,
        mail.config().guard().inbound().dnsblZones(), mail.tls(), acme, dkim, mail.config().delivery().dkim(),
        NetworkInfo::read, WizardChecks.CONNECT_TIMEOUT, mail.config().listen(), mail.config().mtaSts()));
    api.steps(steps);
    // The console's DNS page and card: the host name the wizard set (used from the next start) or the running one.
    DomainDns domainDns = new DomainDns(new DomainDns.Parts(dns, dkim, mail.config().delivery().dkim(),
        mail.config().listen(), mail.config().mtaSts(),
        () -> setup.settings().hostname() != null ? setup.settings().hostname()
            : mail.config().hostname(), steps::address));
    // The MTA-STS policy ([listen] https): a listener of its own, serving nothing else.
    MtaStsWeb policy = MtaStsWeb.start(mail, o.requestDeadline());
    if (address.isEmpty()) {
      return new AdminWeb(null, null, api, null, policy);
    }
    Metrics.install();
    Tls tls = mail.tls();
    NetServer net = new NetServer(2);
    ChannelInitializer<SocketChannel> init = new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline()
            .addLast("tls", tls.newHandler(ch, false))
            .addLast("http", new HttpServerCodec(MAX_LINE, MAX_HEADERS, 8192))
            .addLast("headers", new HttpGate.SecurityHeaders())
            .addLast("aggregate", new HttpObjectAggregator(MAX_BODY))
            .addLast("gate", new HttpGate(api::handle, o.requestDeadline()));
      }
    };
    InetSocketAddress bound;
    try {
      bound = net.bind("admin", HostPort.parse("listen.admin", address),
          services.guard().connections().wrap("admin", init));
    } catch (RuntimeException e) {
      net.close();
      if (policy != null) {
        policy.close();
      }
      throw e;
    }
    AcmeRenewal renewal = new AcmeRenewal(acme, mail.tls(), o.clock()).start();
    AdminWeb web = new AdminWeb(net, bound, api, renewal, policy);
    api.console = new Console(mail, name -> name.equals("https") ? web.httpsPort() : web.port(), o.historyStep(),
        acme, renewal, domainDns, setup::tls);
    if (!api.setupDone()) {
      web.announceSetup(mail, codeFile);
    } else {
      try {
        Files.deleteIfExists(codeFile);
      } catch (IOException e) {
        log.warn("cannot remove {}: {}", codeFile, e.getMessage());
      }
    }
    return web;
  }

  private void announceSetup(DarwinMail mail, Path codeFile) {
    String code = api.newSetupCode();
    String host = bound.getAddress().isAnyLocalAddress() ? mail.config().hostname()
        : bound.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    String url = "https://" + host + ":" + bound.getPort() + "/setup/";
    String fingerprint = fingerprint(mail.tls().certFile());
    AtomicFile.write(codeFile, ("code=" + code + "\nurl=" + url + "\nfingerprint=" + fingerprint + "\n")
        .getBytes(StandardCharsets.UTF_8));
    log.warn("Setup is not done: open {} and enter the setup code {} (certificate SHA-256 fingerprint {})", url,
        code, fingerprint);
  }

  /** The SHA-256 fingerprint of the first certificate in a PEM file, as colon-separated hex pairs. */
  static String fingerprint(Path pem) {
    try (InputStream in = Files.newInputStream(pem)) {
      X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      byte[] d = MessageDigest.getInstance("SHA-256").digest(c.getEncoded());
      return HexFormat.ofDelimiter(":").withUpperCase().formatHex(d);
    } catch (Exception e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }

  /** The bound port, or -1 when the listener is off. */
  public int port() {
    return bound == null ? -1 : bound.getPort();
  }

  /** The MTA-STS policy listener's port ({@code [listen] https}), or -1 when it is off. */
  public int httpsPort() {
    return policy == null ? -1 : policy.port();
  }

  @Override
  public void close() {
    if (policy != null) {
      policy.close();
    }
    if (renewal != null) {
      renewal.close();
    }
    if (net != null) {
      net.close();
    }
    if (api.console != null) {
      api.console.close();
    }
  }
}
