package org.darwinmail.guard;

import io.micrometer.core.instrument.Metrics;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.darwinmail.config.GuardConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connection limits on every listener (ARCHITECTURE.md, "The abuse guard and login throttling"): simultaneous connections from all clients together, and
 * simultaneous connections and new connections per minute from one client (an IPv4 address, an IPv6 /64: see
 * {@link Networks#clientKey}). The check is the first handler of each pipeline, before TLS and the session: a
 * refused client gets the protocol's "too busy" greeting on plaintext listeners (SMTP 421, IMAP BYE, POP3 -ERR)
 * and a plain close on implicit-TLS ones, and no session is ever started for it.
 */
public final class ConnectionLimits {
  private static final Logger log = LoggerFactory.getLogger(ConnectionLimits.class);
  private static final long MINUTE = 60_000L;

  private final int maxPerAddress;
  private final int maxPerMinute;
  private final int maxPerListener;
  private final Map<String, Limiter> byListener = new ConcurrentHashMap<>();

  public ConnectionLimits(GuardConfig config) {
    this.maxPerAddress = config.maxConnectionsPerAddress();
    this.maxPerMinute = config.maxConnectionsPerMinute();
    this.maxPerListener = config.maxConnectionsPerListener();
  }

  /**
   * {@code init} with the limit check put in front of the pipeline it builds; used by
   * {@link org.darwinmail.DarwinMail} for every listener it binds.
   */
  public ChannelInitializer<SocketChannel> wrap(String listener, ChannelInitializer<SocketChannel> init) {
    Limiter limiter = byListener.computeIfAbsent(listener, Limiter::new);
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast("limit", limiter);
        ch.pipeline().addLast(init);
      }
    };
  }

  /** The handler alone, for a listener that builds its pipeline itself: {@code p.addFirst("limit", ...)}. */
  public ChannelHandler handler(String listener) {
    return byListener.computeIfAbsent(listener, Limiter::new);
  }

  /** How many connections from {@code address} (or its IPv6 /64) are open on {@code listener} right now. */
  public int open(String listener, String address) {
    Limiter l = byListener.get(listener);
    if (l == null) {
      return 0;
    }
    PerAddress p;
    try {
      p = l.byAddress.get(Networks.clientKey(InetAddress.getByName(address)));
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an address: " + address, e);
    }
    return p == null ? 0 : p.open;
  }

  /**
   * The greeting a refused client gets, by listener name and reason ({@code why}: "from your address" or
   * empty); null for implicit TLS (it expects a handshake).
   */
  static String refusal(String listener, String why) {
    String text = "Too many connections" + why + ", try again later\r\n";
    return switch (listener) {
      case "smtp", "submission" -> "421 4.7.0 " + text; // RFC 5321 §3.8
      case "imap" -> "* BYE [UNAVAILABLE] " + text; // RFC 9051 §7.1.5, RFC 5530
      case "pop3" -> "-ERR [SYS/TEMP] " + text; // RFC 3206
      default -> null;
    };
  }

  private static final class PerAddress {
    int open;
    final SlidingWindow recent = new SlidingWindow(MINUTE);
  }

  @ChannelHandler.Sharable
  private final class Limiter extends ChannelInboundHandlerAdapter {
    private final String listener;
    private final String refusalForClient;
    private final String refusalForAll;
    private final Map<String, PerAddress> byAddress = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();

    Limiter(String listener) {
      this.listener = listener;
      this.refusalForClient = refusal(listener, " from your address");
      this.refusalForAll = refusal(listener, "");
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      InetAddress client = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
      String key = Networks.clientKey(client);
      long now = System.currentTimeMillis();
      String why = null;
      String refusal = refusalForClient;
      PerAddress p = byAddress.computeIfAbsent(key, k -> new PerAddress());
      synchronized (p) {
        p.recent.add(now, 1);
        if (p.open >= maxPerAddress) {
          why = p.open + " open connections from " + key + " (limit " + maxPerAddress + ")";
        } else if (p.recent.sum(now) > maxPerMinute) {
          why = "more than " + maxPerMinute + " connections per minute from " + key;
        } else if (open.incrementAndGet() > maxPerListener) {
          open.decrementAndGet();
          why = "the listener's " + maxPerListener + " connections are open";
          refusal = refusalForAll;
        } else {
          p.open++;
        }
      }
      if (why == null) {
        ctx.channel().closeFuture().addListener(f -> release(key, p));
        ctx.fireChannelActive();
        return;
      }
      log.info("{}: refused a connection from {}: {}", listener, client.getHostAddress(), why);
      Metrics.counter("darwinmail.guard.connections.refused", "listener", listener).increment();
      // No session for this client: take the rest of the pipeline away, answer, close.
      List<String> after = new ArrayList<>();
      boolean seen = false;
      for (String name : ctx.pipeline().names()) {
        if (seen && ctx.pipeline().get(name) != null) {
          after.add(name);
        }
        seen |= name.equals(ctx.name());
      }
      for (String name : after) {
        try {
          ctx.pipeline().remove(name);
        } catch (RuntimeException e) {
          log.debug("{}: removing {} from a refused connection: {}", listener, name, e.toString());
        }
      }
      if (refusal == null) {
        ctx.channel().close();
      } else {
        ctx.writeAndFlush(Unpooled.copiedBuffer(refusal, StandardCharsets.US_ASCII))
            .addListener(ChannelFutureListener.CLOSE);
      }
    }

    private void release(String key, PerAddress p) {
      open.decrementAndGet();
      synchronized (p) {
        p.open--;
        if (p.open <= 0 && p.recent.sum(System.currentTimeMillis()) == 0) {
          byAddress.remove(key, p);
        }
      }
    }
  }
}
