package org.darwinmail.admin.web;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Predicate;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.dns.MtaStsPolicy;
import org.darwinmail.config.HostPort;
import org.darwinmail.config.MtaStsConfig;
import org.darwinmail.net.NetServer;
import org.darwinmail.net.Tls;

/**
 * The MTA-STS policy listener ({@code [listen] https}; 443 on the appliance): HTTPS with the server's certificate,
 * the admin listener's pipeline and bounds (connection limits, TLS, {@link HttpServerCodec} with
 * {@link AdminWeb#MAX_LINE} / {@link AdminWeb#MAX_HEADERS}, security headers, aggregation, {@link HttpGate} and its
 * request deadline), on event loops of its own; it serves nothing but the policy, never the console.
 *
 * <p>RFC 8461 §3.3: a GET or HEAD of {@code /.well-known/mta-sts.txt} whose {@code Host} is
 * {@code mta-sts.<domain>}, for a mail domain listed in {@code [mta_sts] domains}, answers 200 with the policy
 * ({@link MtaStsPolicy}: media type text/plain, CRLF lines); everything else answers 404. No redirects (senders
 * must not follow them).
 */
public final class MtaStsWeb implements AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MtaStsWeb.class);
  static final String PATH = "/.well-known/mta-sts.txt";
  private final NetServer net;
  private final InetSocketAddress bound;

  private MtaStsWeb(NetServer net, InetSocketAddress bound) {
    this.net = net;
    this.bound = bound;
  }

  /** Binds {@code [listen] https}; null when it is "". */
  static MtaStsWeb start(DarwinMail mail, Duration requestDeadline) {
    String address = mail.config().listen().https();
    if (address.isEmpty()) {
      if (!mail.config().mtaSts().domains().isEmpty()) {
        log.warn("[mta_sts] lists {} but [listen] https is off: no MTA-STS policy is served, and the DNS pages list "
            + "no MTA-STS records", mail.config().mtaSts().domains());
      }
      return null;
    }
    var directory = mail.services().directory();
    HttpGate.Handler policy = policyHandler(mail.config().mtaSts(), mail.config().hostname(),
        d -> directory.domains().contains(d));
    Tls tls = mail.tls();
    NetServer net = new NetServer(1);
    ChannelInitializer<SocketChannel> init = new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline()
            .addLast("tls", tls.newHandler(ch, false))
            .addLast("http", new HttpServerCodec(AdminWeb.MAX_LINE, AdminWeb.MAX_HEADERS, 8192))
            .addLast("headers", new HttpGate.SecurityHeaders())
            .addLast("aggregate", new HttpObjectAggregator(AdminWeb.MAX_BODY))
            .addLast("gate", new HttpGate(policy, requestDeadline));
      }
    };
    try {
      InetSocketAddress bound = net.bind("https", HostPort.parse("listen.https", address),
          mail.services().guard().connections().wrap("https", init));
      return new MtaStsWeb(net, bound);
    } catch (RuntimeException e) {
      net.close();
      throw e;
    }
  }

  /**
   * The policy's answer to one request: the policy of the domain the {@code Host} header names (port and a final
   * dot ignored), when that domain publishes one and is a mail domain ({@code isDomain}); otherwise 404.
   */
  static HttpGate.Handler policyHandler(MtaStsConfig config, String hostname, Predicate<String> isDomain) {
    return r -> {
      String domain = domainOf(r.header("Host"));
      if (!(r.method().equals("GET") || r.method().equals("HEAD")) || !r.path().equals(PATH) || domain == null
          || !config.publishes(domain) || !isDomain.test(domain)) {
        return Response.text(404, "Not Found\n");
      }
      String text = new MtaStsPolicy(config.mode(), hostname, config.maxAge()).text();
      // RFC 8461 §3.2: the media type is text/plain; the policy is ASCII
      return Response.text(200, text);
    };
  }

  /** {@code mta-sts.<domain>} in a Host header, as {@code <domain>} in lower case; null for any other name. */
  static String domainOf(String host) {
    if (host == null) {
      return null;
    }
    String h = host.strip().toLowerCase(Locale.ROOT);
    int colon = h.lastIndexOf(':');
    if (colon > 0 && h.indexOf(':') == colon) {
      h = h.substring(0, colon);
    }
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    String prefix = "mta-sts.";
    return h.startsWith(prefix) && h.length() > prefix.length() ? h.substring(prefix.length()) : null;
  }

  /** The bound port. */
  public int port() {
    return bound.getPort();
  }

  @Override
  public void close() {
    net.close();
  }
}
