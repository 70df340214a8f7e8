package org.darwinmail.imap;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import java.time.Duration;
import org.darwinmail.config.ImapConfig;
import org.darwinmail.net.SessionRunner;

/** The pipeline of an IMAP connection: [implicit TLS] ─ framer ─ session (on a virtual thread; it keeps the deadlines). */
public final class ImapServer extends ChannelInitializer<SocketChannel> {
  private final ImapContext ctx;
  private final boolean implicitTls;

  public ImapServer(ImapContext ctx, boolean implicitTls) {
    this.ctx = ctx;
    this.implicitTls = implicitTls;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    ImapConfig c = ctx.config().imap();
    ImapFramer framer = new ImapFramer(c.maxLineLength(), c.maxLiteralSize(), c.maxLiteralBeforeAuth());
    var p = ch.pipeline();
    if (implicitTls) {
      p.addLast("tls", ctx.tls().newHandler(ch, false)); // RFC 8314 §3.3
    }
    p.addLast("framer", framer);
    // RFC 9051 §5.4: at least 30 minutes of inactivity before autologout (IDLE clients re-issue within 29, RFC
    // 2177): the idle timeout is the command deadline, and a session has no maximum lifetime.
    p.addLast("session", new SessionRunner(new ImapSession(ctx, framer), Duration.ofSeconds(c.idleTimeoutSeconds()),
        null));
  }
}
