package org.darwinmail.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.config.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Netty event loops (epoll where available) and the listening sockets bound on them. */
public final class NetServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NetServer.class);
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Class<? extends ServerChannel> channelClass;
  private final List<Channel> listeners = new ArrayList<>();

  /**
   * One worker loop per core, not Netty's twice that: on the 2-vCPU appliance four loops and the acceptor woke each
   * other more often per SMTP message (a context switch is dear on a VM) for no gain in IMAP's rate
   * (bench/results/HISTORY.md, session 27).
   */
  public NetServer() {
    this(Runtime.getRuntime().availableProcessors());
  }

  /**
   * Readies Netty on a thread of its own (issue 22): its first direct buffer cost 150-250 ms of the start (the
   * platform probes, loading the epoll library, and on JDK 24+ linking malloc and free through the foreign-function
   * linker), paid by the first greeting's write. {@code serve} calls this before it reads the configuration, which
   * takes about as long on the other core; the listeners then find it done (a class being initialised here is waited
   * for, not initialised twice). A failure here is met again, and reported, where the listeners use the same code.
   */
  public static void prime() {
    Thread.ofPlatform().name("net-prime").daemon().start(() -> {
      try {
        Epoll.isAvailable();
        ByteBufAllocator.DEFAULT.directBuffer(256).release();
      } catch (RuntimeException e) {
        log.debug("priming Netty failed; the listeners will say why", e);
      }
    });
  }

  /** With {@code workerThreads} worker loops and one acceptor loop. */
  public NetServer(int workerThreads) {
    if (Epoll.isAvailable()) {
      boss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
      workers = new MultiThreadIoEventLoopGroup(workerThreads, EpollIoHandler.newFactory());
      channelClass = EpollServerSocketChannel.class;
    } else {
      boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
      workers = new MultiThreadIoEventLoopGroup(workerThreads, NioIoHandler.newFactory());
      channelClass = NioServerSocketChannel.class;
    }
  }

  /** Binds {@code address}; every accepted connection is set up by {@code init}. Returns the bound address. */
  public InetSocketAddress bind(String name, HostPort address, ChannelInitializer<SocketChannel> init) {
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, workers)
        .channel(channelClass)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childHandler(init);
    Channel ch;
    try {
      ch = b.bind(address.host(), address.port()).sync().channel();
    } catch (Exception e) {
      throw new IllegalStateException("cannot listen for " + name + " on " + address + ": " + e.getMessage(), e);
    }
    listeners.add(ch);
    InetSocketAddress bound = (InetSocketAddress) ch.localAddress();
    log.info("{} listening on {}", name, bound);
    return bound;
  }

  /** Stops accepting connections (existing ones go on until {@link #close}). */
  public void stopListening() {
    for (Channel ch : listeners) {
      ch.close().syncUninterruptibly();
    }
    listeners.clear();
  }

  @Override
  public void close() {
    stopListening();
    boss.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    workers.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }
}
