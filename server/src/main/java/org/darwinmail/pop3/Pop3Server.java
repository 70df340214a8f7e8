package org.darwinmail.pop3;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import org.darwinmail.net.SessionRunner;

/** The pipeline of a POP3 connection: TLS (port 995 only), idle timeout, framer, session. */
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
    // Idle = neither reading nor writing: a client downloading a big message slowly is not idle.
    p.addLast("idle", new IdleStateHandler(0, 0, ctx.config().pop3().idleTimeoutSeconds(), TimeUnit.SECONDS));
    p.addLast("framer", framer);
    p.addLast("session", new SessionRunner(new Pop3Session(ctx, framer)));
  }
}
