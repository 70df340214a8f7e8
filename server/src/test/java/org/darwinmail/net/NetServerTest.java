package org.darwinmail.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.darwinmail.config.HostPort;
import org.junit.jupiter.api.Test;

/**
 * The listening sockets: every connection to a bound port is served, spread over the event loops, and a port another
 * server holds is refused with an error that names it.
 */
class NetServerTest {
  /** Greets with the name of the thread serving the connection, then closes it. */
  private static ChannelInitializer<SocketChannel> greeter() {
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
          @Override
          public void channelActive(ChannelHandlerContext ctx) {
            byte[] hello = ("hello from " + Thread.currentThread().getName() + "\n").getBytes(StandardCharsets.UTF_8);
            ctx.writeAndFlush(Unpooled.wrappedBuffer(hello)).addListener(ChannelFutureListener.CLOSE);
          }
        });
      }
    };
  }

  private static String greeting(int port) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      InputStream in = s.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    }
  }

  @Test
  void everyConnectionToABoundPortIsServed() throws Exception {
    try (NetServer net = new NetServer()) {
      int port = net.bind("test", HostPort.parse("listen.test", "127.0.0.1:0"), greeter()).getPort();
      Set<String> threads = new HashSet<>();
      for (int i = 0; i < 64; i++) {
        String g = greeting(port);
        assertThat(g).startsWith("hello from ");
        threads.add(g);
      }
      // The connections are spread over the event loops, and all of them answer.
      assertThat(threads).hasSizeGreaterThan(1);
    }
  }

  @Test
  void aPortInUseIsRefusedWithAnErrorNamingIt() throws Exception {
    try (NetServer first = new NetServer(); NetServer second = new NetServer()) {
      InetSocketAddress bound = first.bind("smtp", HostPort.parse("listen.smtp", "127.0.0.1:0"), greeter());
      String taken = "127.0.0.1:" + bound.getPort();
      assertThatThrownBy(() -> second.bind("smtp", HostPort.parse("listen.smtp", taken), greeter()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("cannot listen for smtp on " + taken);
      // The first server still has every connection.
      assertThat(greeting(bound.getPort())).startsWith("hello from ");
    }
    try (ServerSocket other = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
        NetServer net = new NetServer()) {
      String taken = "127.0.0.1:" + other.getLocalPort();
      assertThatThrownBy(() -> net.bind("imap", HostPort.parse("listen.imap", taken), greeter()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("cannot listen for imap on " + taken);
    }
  }
}
