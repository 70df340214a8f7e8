package org.darwinmail.smtp;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import java.time.Duration;
import org.darwinmail.net.SessionRunner;

/** The pipeline of an SMTP connection, one per listener kind. */
public final class SmtpServer extends ChannelInitializer<SocketChannel> {
  private final SmtpContext ctx;
  private final SmtpSession.Kind kind;

  public SmtpServer(SmtpContext ctx, SmtpSession.Kind kind) {
    this.ctx = ctx;
    this.kind = kind;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    SmtpFramer framer = new SmtpFramer(ctx.config().smtp().maxLineLength());
    var p = ch.pipeline();
    if (kind == SmtpSession.Kind.SUBMISSIONS) {
      p.addLast("tls", ctx.tls().newHandler(ch, false)); // implicit TLS (RFC 8314 §3.3)
    }
    p.addLast("framer", framer);
    p.addLast("session", new SessionRunner(new SmtpSession(ctx, framer, kind),
        Duration.ofSeconds(ctx.config().smtp().idleTimeoutSeconds()),
        Duration.ofSeconds(ctx.config().smtp().sessionTimeoutSeconds())));
  }
}
