package org.darwinmail.smtp;

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
 * The pipeline of an SMTP connection, one per listener kind. Bound before the store opens: a connection accepted
 * meanwhile is greeted by a {@link DeferredSession} until the {@link StartGate} gives the context.
 */
public final class SmtpServer extends ChannelInitializer<SocketChannel> {
  private final ServerConfig config;
  private final StartGate<SmtpContext> gate;
  private final CompletableFuture<Tls> tls;
  private final SmtpSession.Kind kind;
  private final Greeting greeting;

  public SmtpServer(ServerConfig config, StartGate<SmtpContext> gate, CompletableFuture<Tls> tls,
      SmtpSession.Kind kind) {
    this.config = config;
    this.gate = gate;
    this.tls = tls;
    this.kind = kind;
    String line = Reply.greeting(config.hostname()).lines()[0];
    this.greeting = new Greeting() {
      @Override
      public String line(Session session) {
        return line;
      }

      @Override
      public String unavailable() {
        return Reply.UNAVAILABLE.lines()[0];
      }
    };
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    SmtpFramer framer = new SmtpFramer(config.smtp().maxLineLength());
    var p = ch.pipeline();
    if (kind == SmtpSession.Kind.SUBMISSIONS) {
      ImplicitTls.add(ch, tls); // implicit TLS (RFC 8314 §3.3)
    }
    p.addLast("framer", framer);
    SmtpContext ctx = gate.now();
    Session session = ctx != null ? new SmtpSession(ctx, framer, kind)
        : new DeferredSession<>(greeting, gate, c -> new SmtpSession(c, framer, kind));
    p.addLast("session", new SessionRunner(session, Duration.ofSeconds(config.smtp().idleTimeoutSeconds()),
        Duration.ofSeconds(config.smtp().sessionTimeoutSeconds())));
  }
}
