package org.darwinmail.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import java.util.concurrent.CompletableFuture;

/**
 * The TLS handler of an implicit-TLS listener (RFC 8314 §3.3), for a connection that may be accepted before the
 * server's TLS context is ready (issue 22: the listeners are bound before the store opens, the context is read on a
 * thread of its own meanwhile, or made after the store on a first start). Until it is ready, the connection is not
 * read and the rest of the pipeline is not told it is open (so nothing, the greeting included, is written in the
 * clear); then the TLS handler takes this one's place and the connection goes on as if accepted just now.
 */
public final class ImplicitTls extends ChannelInboundHandlerAdapter {
  private final CompletableFuture<Tls> tls;
  private boolean active;

  private ImplicitTls(CompletableFuture<Tls> tls) {
    this.tls = tls;
  }

  /** Adds the TLS handler to {@code ch}'s pipeline as "tls", at once when the context is ready. */
  public static void add(SocketChannel ch, CompletableFuture<Tls> tls) {
    Tls ready = tls.isDone() && !tls.isCompletedExceptionally() ? tls.join() : null;
    ch.pipeline().addLast("tls", ready != null ? ready.newHandler(ch, false) : new ImplicitTls(tls));
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ctx.channel().config().setAutoRead(false);
    tls.whenComplete((t, e) -> ctx.executor().execute(() -> {
      if (e != null || !ctx.channel().isActive()) {
        ctx.close();
        return;
      }
      active = true;
      // Added to an open connection, the TLS handler starts its handshake itself (Netty's SslHandler.handlerAdded);
      // the handlers after it are told the connection is open now.
      var p = ctx.pipeline();
      p.replace(this, "tls", t.newHandler((SocketChannel) ctx.channel(), false));
      p.context("tls").fireChannelActive();
      ctx.channel().config().setAutoRead(true);
    }));
  }

  /** A connection closed while waiting: the rest of the pipeline never heard it was open. */
  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (active) {
      ctx.fireChannelInactive();
    }
  }
}
