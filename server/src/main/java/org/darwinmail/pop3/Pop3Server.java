package org.darwinmail.pop3;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.net.DeferredSession;
import org.darwinmail.net.Greeting;
import org.darwinmail.net.ImplicitTls;
import org.darwinmail.net.Session;
import org.darwinmail.net.SessionRunner;
import org.darwinmail.net.StartGate;
import org.darwinmail.net.Tls;

/**
 * The pipeline of a POP3 connection: TLS (port 995 only), framer, session (it keeps the deadlines). Bound before the
 * store opens: a connection accepted meanwhile is greeted by a {@link DeferredSession}.
 */
public final class Pop3Server extends ChannelInitializer<SocketChannel> {
  /** The greeting (RFC 1939 §4), the same as {@link Pop3Session}'s, and the closing line of a failed start. */
  static final Greeting GREETING = new Greeting() {
    @Override
    public String line(Session session) {
      return Reply.GREETING.line();
    }

    @Override
    public String unavailable() {
      return Reply.UNAVAILABLE.line();
    }
  };

  private final ServerConfig config;
  private final StartGate<Pop3Context> gate;
  private final CompletableFuture<Tls> tls;
  private final boolean implicitTls;

  /** @param implicitTls port 995 (RFC 8314 §3.3): TLS from the first byte */
  public Pop3Server(ServerConfig config, StartGate<Pop3Context> gate, CompletableFuture<Tls> tls,
      boolean implicitTls) {
    this.config = config;
    this.gate = gate;
    this.tls = tls;
    this.implicitTls = implicitTls;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    Pop3Framer framer = new Pop3Framer(config.pop3().maxLineLength());
    var p = ch.pipeline();
    if (implicitTls) {
      ImplicitTls.add(ch, tls);
    }
    p.addLast("framer", framer);
    Pop3Context ctx = gate.now();
    Session session = ctx != null ? new Pop3Session(ctx, framer)
        : new DeferredSession<>(GREETING, gate, c -> new Pop3Session(c, framer));
    // RFC 1939 §3: the idle timeout is the command deadline (a client downloading a big message slowly is not
    // idle); a session has no maximum lifetime.
    p.addLast("session", new SessionRunner(session, Duration.ofSeconds(config.pop3().idleTimeoutSeconds()), null));
  }
}
