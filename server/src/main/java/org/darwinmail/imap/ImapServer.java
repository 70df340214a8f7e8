package org.darwinmail.imap;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.darwinmail.config.ImapConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.net.DeferredSession;
import org.darwinmail.net.Greeting;
import org.darwinmail.net.ImplicitTls;
import org.darwinmail.net.Session;
import org.darwinmail.net.SessionRunner;
import org.darwinmail.net.StartGate;
import org.darwinmail.net.Tls;

/**
 * The pipeline of an IMAP connection: [implicit TLS] ─ framer ─ session (on a virtual thread; it keeps the
 * deadlines). Bound before the store opens: a connection accepted meanwhile is greeted by a {@link DeferredSession}.
 */
public final class ImapServer extends ChannelInitializer<SocketChannel> {
  private final ServerConfig config;
  private final StartGate<ImapContext> gate;
  private final CompletableFuture<Tls> tls;
  private final boolean implicitTls;
  private final Greeting greeting;

  public ImapServer(ServerConfig config, StartGate<ImapContext> gate, CompletableFuture<Tls> tls,
      boolean implicitTls) {
    this.config = config;
    this.gate = gate;
    this.tls = tls;
    this.implicitTls = implicitTls;
    this.greeting = new Greeting() {
      @Override
      public String line(Session session) {
        return ImapSession.greeting(config, session);
      }

      @Override
      public String unavailable() {
        return "* BYE [UNAVAILABLE] Service not available, try again later"; // RFC 9051 §7.1.5, RFC 5530
      }
    };
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    ImapConfig c = config.imap();
    ImapFramer framer = new ImapFramer(c.maxLineLength(), c.maxLiteralSize(), c.maxLiteralBeforeAuth());
    var p = ch.pipeline();
    if (implicitTls) {
      ImplicitTls.add(ch, tls); // RFC 8314 §3.3
    }
    p.addLast("framer", framer);
    ImapContext ctx = gate.now();
    Session session = ctx != null ? new ImapSession(ctx, framer)
        : new DeferredSession<>(greeting, gate, x -> new ImapSession(x, framer));
    // RFC 9051 §5.4: at least 30 minutes of inactivity before autologout (IDLE clients re-issue within 29, RFC
    // 2177): the idle timeout is the command deadline, and a session has no maximum lifetime.
    p.addLast("session", new SessionRunner(session, Duration.ofSeconds(c.idleTimeoutSeconds()), null));
  }
}
