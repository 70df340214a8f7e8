package org.darwinmail.admin.web;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of an admin connection: answers decoding failures (414 request line too long, 431 headers too
 * large, 400 otherwise) and closes; hands each whole request to its {@link Handler} ({@link Api}, or
 * {@link MtaStsWeb}'s policy) on a virtual thread (a login hashes
 * with Argon2id, the wizard writes files), one request at a time per connection (reading is paused meanwhile);
 * keeps the request deadline: from the connection's start, or the end of the previous response, a whole request
 * must arrive within {@code deadline} (TLS handshake included), or the connection is closed. A slow client
 * trickling a header byte by byte is cut off like an idle one.
 */
final class HttpGate extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger log = LoggerFactory.getLogger(HttpGate.class);
  private static final ExecutorService WORKERS = Executors.newVirtualThreadPerTaskExecutor();
  /** What answers a whole request: the admin API, or the MTA-STS policy ({@link MtaStsWeb}). */
  interface Handler {
    Response handle(Request r);
  }

  private final Handler api;
  private final Duration deadline;
  private ScheduledFuture<?> timer;
  /** Requests a client pipelined behind the one being answered (decoded from bytes already read); answered in order. */
  private final java.util.ArrayDeque<FullHttpRequest> waiting = new java.util.ArrayDeque<>();
  private boolean busy;
  static final int MAX_PIPELINED = 8;

  HttpGate(Handler api, Duration deadline) {
    this.api = api;
    this.deadline = deadline;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    arm(ctx);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    disarm();
    while (!waiting.isEmpty()) {
      waiting.poll().release();
    }
    super.channelInactive(ctx);
  }

  private void arm(ChannelHandlerContext ctx) {
    disarm();
    timer = ctx.executor().schedule(() -> {
      log.debug("admin: no whole request from {} within {}: closing", ctx.channel().remoteAddress(), deadline);
      ctx.close();
    }, deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void disarm() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    disarm();
    if (busy) {
      if (waiting.size() >= MAX_PIPELINED) {
        ctx.close();
        return;
      }
      waiting.add(req.retain());
      return;
    }
    serve(ctx, req);
  }

  /** Answers one request; on the event loop. */
  private void serve(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (!req.decoderResult().isSuccess()) {
      Throwable c = req.decoderResult().cause();
      HttpResponseStatus status = c instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
          : c instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
          : c instanceof TooLongFrameException ? HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE
          : HttpResponseStatus.BAD_REQUEST;
      log.debug("admin: bad request from {}: {}", ctx.channel().remoteAddress(), String.valueOf(c));
      FullHttpResponse resp = encode(Response.text(status.code(), status.reasonPhrase() + "\n"));
      resp.headers().set(HttpHeaderNames.CONNECTION, "close");
      ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    busy = true;
    ctx.channel().config().setAutoRead(false);
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    byte[] body = new byte[req.content().readableBytes()];
    req.content().readBytes(body);
    Request r = new Request(req.method().name(), uri.path(), uri.rawQuery(), req.headers().copy(), body,
        ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress());
    WORKERS.execute(() -> {
      Response answer;
      try {
        answer = api.handle(r);
      } catch (RuntimeException e) {
        String id = Sessions.randomToken().substring(0, 8);
        log.error("admin: {} {} failed (error id {})", r.method(), r.path(), id, e);
        answer = Response.error(500, "internal error (id " + id + " in the server log)");
      }
      if (r.method().equals("POST") && answer.status() < 400) {
        log.debug("admin: {} {} from {} -> {}", r.method(), r.path(), r.client().getHostAddress(), answer.status());
      }
      FullHttpResponse resp = encode(answer);
      if (r.method().equals("HEAD")) {
        resp.content().clear();
      }
      HttpUtil.setKeepAlive(resp, keepAlive);
      ctx.writeAndFlush(resp).addListener((ChannelFutureListener) f -> {
        busy = false;
        if (!keepAlive || !f.isSuccess()) {
          ctx.close();
        } else if (!waiting.isEmpty()) {
          FullHttpRequest next = waiting.poll();
          try {
            serve(ctx, next);
          } finally {
            next.release();
          }
        } else {
          arm(ctx);
          ctx.channel().config().setAutoRead(true);
          ctx.read();
        }
      });
    });
  }

  static FullHttpResponse encode(Response a) {
    FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(a.status()),
        Unpooled.wrappedBuffer(a.body()));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, a.contentType());
    resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, a.body().length);
    for (Map.Entry<String, String> h : a.headers().entrySet()) {
      resp.headers().add(h.getKey(), h.getValue());
    }
    return resp;
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("admin: connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }

  /**
   * Puts the security headers on every response, those of the API and those Netty's aggregator writes itself
   * (413, 100 Continue): it sits between the HTTP codec and the aggregator.
   */
  static final class SecurityHeaders extends ChannelDuplexHandler {
    static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        + " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg instanceof HttpResponse r) {
        HttpHeaders h = r.headers();
        h.set("Content-Security-Policy", CSP);
        h.set("X-Frame-Options", "DENY");
        h.set("Strict-Transport-Security", "max-age=63072000");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Referrer-Policy", "no-referrer");
        h.set("Cross-Origin-Opener-Policy", "same-origin");
        h.set("Cross-Origin-Resource-Policy", "same-origin");
        if (!h.contains(HttpHeaderNames.CACHE_CONTROL)) {
          h.set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        }
      }
      ctx.write(msg, promise);
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
