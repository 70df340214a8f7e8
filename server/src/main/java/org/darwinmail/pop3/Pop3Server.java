package org.darwinmail.pop3;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import java.time.Duration;
import org.darwinmail.net.SessionRunner;

/** The pipeline of a POP3 connection: TLS (port 995 only), framer, session (it keeps the deadlines). */
public final class Pop3Server extends ChannelInitializer<SocketChannel> {
  private final Pop3Context ctx;
  private final boolean implicitTls;

  /** @param implicitTls port 995 (RFC 8314 §3.3): TLS from the first byte */
  public Pop3Server(Pop3Context ctx, boolean implicitTls) {
    this.ctx = ctx;
    this.implicitTls = implicitTls;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    Pop3Framer framer = new Pop3Framer(ctx.config().pop3().maxLineLength());
    var p = ch.pipeline();
    if (implicitTls) {
      p.addLast("tls", ctx.tls().newHandler(ch, false));
    }
    p.addLast("framer", framer);
    // RFC 1939 §3: the idle timeout is the command deadline (a client downloading a big message slowly is not
    // idle); a session has no maximum lifetime.
    p.addLast("session", new SessionRunner(new Pop3Session(ctx, framer),
        Duration.ofSeconds(ctx.config().pop3().idleTimeoutSeconds()), null));
  }
}
