package org.darwinmail.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.darwinmail.config.HostPort;
import org.darwinmail.config.TlsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The certificate store: a new pair is installed atomically and served by the next handshake of a running listener,
 * no restart; a crash between the key and the chain is finished at the next start; a pair that does not load
 * leaves the old one served.
 */
class TlsInstallTest {
  @TempDir
  Path dir;

  private static String servedName(int port) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] c, String a) {}

      @Override
      public void checkServerTrusted(X509Certificate[] c, String a) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.startHandshake();
      return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }
  }

  private String[] otherPair(String host) throws Exception {
    Path c = dir.resolve("other/" + host + ".crt");
    Path k = dir.resolve("other/" + host + ".key");
    Tls.generateSelfSigned(c, k, host, Duration.ofDays(400));
    return new String[] {Files.readString(c), Files.readString(k)};
  }

  @Test
  void aRunningListenerServesTheNewCertificateWithoutARestart() throws Exception {
    Tls tls = Tls.load(new TlsConfig(null, null), dir, "old.example.test");
    try (NetServer net = new NetServer(1)) {
      InetSocketAddress a = net.bind("test", HostPort.parse("t", "127.0.0.1:0"), new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel ch) {
          ch.pipeline().addLast(tls.newHandler(ch, false)).addLast(new ChannelInboundHandlerAdapter());
        }
      });
      assertThat(servedName(a.getPort())).isEqualTo("CN=old.example.test");
      String[] pair = otherPair("new.example.test");
      tls.install(pair[0], pair[1]);
      assertThat(servedName(a.getPort())).isEqualTo("CN=new.example.test");
      assertThat(Files.readString(tls.certFile())).isEqualTo(pair[0]);
      assertThat(Files.exists(dir.resolve("tls/cert.pem.incoming"))).isFalse();

      String[] broken = otherPair("broken.example.test");
      assertThatThrownBy(() -> tls.install(broken[0], "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
          .isInstanceOf(IllegalStateException.class);
      assertThat(servedName(a.getPort())).as("a pair that does not load is not served").isEqualTo("CN=new.example.test");
    }
  }

  @Test
  void aCrashBetweenTheKeyAndTheChainIsFinishedAtTheNextStart() throws Exception {
    Tls.load(new TlsConfig(null, null), dir, "old.example.test");
    String[] pair = otherPair("new.example.test");
    // What install() leaves when the process dies right after its commit point: the pair in cert.pem.incoming.
    Files.writeString(dir.resolve("tls/cert.pem.incoming"), pair[1] + pair[0]);
    Tls tls = Tls.load(new TlsConfig(null, null), dir, "old.example.test");
    assertThat(Files.readString(tls.certFile())).isEqualTo(pair[0]);
    assertThat(Files.readString(dir.resolve("tls/key.pem"))).isEqualTo(pair[1]);
    assertThat(Files.exists(dir.resolve("tls/cert.pem.incoming"))).isFalse();
  }
}
