package org.darwinmail.delivery;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The client side of one SMTP connection (RFC 5321): blocking I/O on the caller's virtual thread. A delivery is a
 * strict conversation (send, wait, decide), which reads best as straight-line code; virtual threads make a
 * blocked connection cost a few KB, so there is no reason to split it into Netty callbacks.
 *
 * <p>Bounded: reply lines are cut at {@link #MAX_LINE} bytes and a reply has at most {@link #MAX_LINES} lines;
 * every read has the timeout of RFC 5321 §4.5.3.2 for the command it waits for.
 */
final class SmtpClient implements AutoCloseable {
  static final int MAX_LINE = 4096;
  static final int MAX_LINES = 200;
  // RFC 5321 §4.5.3.2: minimum timeouts a client must wait.
  static final Duration GREETING_TIMEOUT = Duration.ofMinutes(5); // §4.5.3.2.1
  static final Duration MAIL_TIMEOUT = Duration.ofMinutes(5); // §4.5.3.2.2
  static final Duration RCPT_TIMEOUT = Duration.ofMinutes(5); // §4.5.3.2.3
  static final Duration DATA_TIMEOUT = Duration.ofMinutes(2); // §4.5.3.2.4
  static final Duration BLOCK_TIMEOUT = Duration.ofMinutes(3); // §4.5.3.2.5
  static final Duration FINAL_TIMEOUT = Duration.ofMinutes(10); // §4.5.3.2.6

  private Socket socket;
  private InputStream in;
  private OutputStream out;
  private final String host;
  private final int port;
  /** How TLS is set up on this connection: {@link #OPPORTUNISTIC}, or a verifying factory from {@link #verifying}. */
  private final SSLSocketFactory tls;

  /** A reply: code and lines without the code. */
  record Response(int code, List<String> lines) {
    boolean positive() {
      return code >= 200 && code < 400;
    }

    boolean permanent() {
      return code >= 500;
    }

    String text() {
      return code + " " + String.join(" ", lines);
    }
  }

  /** A failure talking to one host: the next host or address may do better. */
  static class HostException extends IOException {
    HostException(String message) {
      super(message);
    }
  }

  private SmtpClient(Socket socket, String host, int port, SSLSocketFactory tls) throws IOException {
    this.host = host;
    this.port = port;
    this.tls = tls;
    attach(socket);
  }

  private void attach(Socket s) throws IOException {
    this.socket = s;
    this.in = new BufferedInputStream(s.getInputStream(), 8192);
    this.out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
  }

  /**
   * Connects to {@code host} at {@code address}; {@code tls} is {@link #OPPORTUNISTIC} towards MX hosts, or a
   * verifying factory ({@link #verifying}) that also checks the certificate names {@code host}.
   */
  static SmtpClient connect(InetAddress address, int port, String host, Duration connectTimeout, boolean implicitTls,
      SSLSocketFactory tls) throws IOException {
    Socket s = new Socket();
    try {
      s.connect(new InetSocketAddress(address, port), (int) connectTimeout.toMillis());
      s.setTcpNoDelay(true);
      if (implicitTls) {
        s = handshake(tls, s, host, port);
      }
      return new SmtpClient(s, host, port, tls);
    } catch (IOException e) {
      s.close();
      throw e;
    }
  }

  boolean isTls() {
    return socket instanceof SSLSocket;
  }

  /** RFC 3207: after "220" to STARTTLS, the TLS handshake, then the session starts over. */
  void startTls() throws IOException {
    out.flush();
    attach(handshake(tls, socket, host, port));
  }

  /** TLS 1.2 or newer; with a verifying factory the certificate must also name the host (RFC 6125). */
  private static Socket handshake(SSLSocketFactory tls, Socket plain, String host, int port) throws IOException {
    SSLSocket s = (SSLSocket) tls.createSocket(plain, host, port, true);
    s.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    s.setUseClientMode(true);
    if (tls != OPPORTUNISTIC) {
      javax.net.ssl.SSLParameters p = s.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("HTTPS");
      s.setSSLParameters(p);
    }
    s.startHandshake();
    return s;
  }

  /**
   * Opportunistic TLS (RFC 7435): encrypt when the peer offers it, without judging its certificate, as MTAs do
   * towards MX hosts without DANE or MTA-STS.
   */
  static final SSLSocketFactory OPPORTUNISTIC = trustAll();

  /**
   * TLS that trusts the certificates in {@code caFile} (PEM: CAs, or the peer's own certificate), or the system's
   * trust store when it is empty: for a smarthost, which receives our password.
   */
  static SSLSocketFactory verifying(String caFile) {
    try {
      return factory(trustOf(caFile));
    } catch (IllegalStateException e) {
      throw new IllegalStateException("delivery.smarthost_ca: " + e.getMessage(), e);
    }
  }

  /**
   * The trust of {@code caFile} (PEM) or, when empty, the system's trust store, as a trust manager that also checks
   * the peer's name when the socket asks for it (endpoint identification): the smarthost, MTA-STS's policy hosts
   * and MX hosts.
   */
  static javax.net.ssl.X509ExtendedTrustManager trustOf(String caFile) {
    try {
      javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
          javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      if (caFile.isEmpty()) {
        tmf.init((java.security.KeyStore) null);
      } else {
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        try (InputStream in = java.nio.file.Files.newInputStream(java.nio.file.Path.of(caFile))) {
          int i = 0;
          for (var c : java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in)) {
            ks.setCertificateEntry("ca" + i++, c);
          }
          if (i == 0) {
            throw new IllegalStateException("no certificate in " + caFile);
          }
        }
        tmf.init(ks);
      }
      for (TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof javax.net.ssl.X509ExtendedTrustManager x) {
          return x;
        }
      }
      throw new IllegalStateException("no X.509 trust manager");
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new IllegalStateException(caFile + ": " + e.getMessage(), e);
    }
  }

  /** A factory whose handshakes verify the peer through {@code trust} (which fails the handshake when it throws). */
  static SSLSocketFactory factory(TrustManager trust) {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {trust}, new SecureRandom());
      return ctx.getSocketFactory();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A per-connection check of an MX host's certificate under an MTA-STS policy (RFC 8461 §4.2): the chain must lead
   * to a trusted CA and name the MX host (RFC 6125; a wildcard only as the whole leftmost label), the check JSSE
   * itself makes for HTTPS. The verdict is kept ({@link #failure}); when {@code strict} (enforce) a failure also
   * fails the handshake, otherwise (testing) the connection goes on as opportunistic TLS would.
   */
  static final class CertCheck extends javax.net.ssl.X509ExtendedTrustManager {
    private final javax.net.ssl.X509ExtendedTrustManager trust;
    private final boolean strict;
    private volatile java.security.cert.CertificateException failure;
    private volatile boolean checked;

    CertCheck(javax.net.ssl.X509ExtendedTrustManager trust, boolean strict) {
      this.trust = trust;
      this.strict = strict;
    }

    /** Why the certificate is not valid, or null when it is (or no handshake happened: see {@link #checked}). */
    java.security.cert.CertificateException failure() {
      return failure;
    }

    boolean checked() {
      return checked;
    }

    SSLSocketFactory factory() {
      return SmtpClient.factory(this);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws java.security.cert.CertificateException {
      checked = true;
      try {
        trust.checkServerTrusted(chain, authType, socket);
      } catch (java.security.cert.CertificateException e) {
        failure = e;
        if (strict) {
          throw e;
        }
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      throw new java.security.cert.CertificateException("not used with an SSLEngine");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      throw new java.security.cert.CertificateException("the MX host's name is needed to check its certificate");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws java.security.cert.CertificateException {
      throw new java.security.cert.CertificateException("a client certificate is not expected");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      throw new java.security.cert.CertificateException("a client certificate is not expected");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      throw new java.security.cert.CertificateException("a client certificate is not expected");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return trust.getAcceptedIssuers();
    }
  }

  private static SSLSocketFactory trustAll() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, new SecureRandom());
      return ctx.getSocketFactory();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Queues a command line (CRLF added); sent on {@link #flush()}. */
  void send(String line) throws IOException {
    out.write(line.getBytes(StandardCharsets.UTF_8));
    out.write('\r');
    out.write('\n');
  }

  void flush() throws IOException {
    out.flush();
  }

  OutputStream raw() {
    return out;
  }

  /** Reads one reply (RFC 5321 §4.2: "250-" continues, "250 " ends). */
  Response read(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    List<String> lines = new ArrayList<>();
    int code = -1;
    try {
      while (true) {
        String l = readLine();
        if (l.length() < 3 || !Character.isDigit(l.charAt(0)) || !Character.isDigit(l.charAt(1))
            || !Character.isDigit(l.charAt(2))) {
          throw new HostException("malformed reply from " + host + ": " + printable(l));
        }
        int c = Integer.parseInt(l.substring(0, 3));
        if (c < 200 || c > 599 || (code != -1 && c != code)) {
          throw new HostException("malformed reply from " + host + ": " + printable(l));
        }
        code = c;
        boolean more = l.length() > 3 && l.charAt(3) == '-';
        lines.add(l.length() > 4 ? printable(l.substring(4)) : "");
        if (!more) {
          return new Response(code, lines);
        }
        if (lines.size() >= MAX_LINES) {
          throw new HostException("reply from " + host + " too long");
        }
      }
    } catch (SocketTimeoutException e) {
      throw new HostException("timeout waiting for " + host + " (" + timeout.toSeconds() + " s)");
    }
  }

  private String readLine() throws IOException {
    byte[] buf = new byte[MAX_LINE];
    int n = 0;
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new HostException("connection closed by " + host);
      }
      if (b == '\n') {
        if (n > 0 && buf[n - 1] == '\r') {
          n--;
        }
        return new String(buf, 0, n, StandardCharsets.UTF_8);
      }
      if (n < MAX_LINE) {
        buf[n++] = (byte) b;
      }
    }
  }

  private static String printable(String s) {
    String t = s.replaceAll("[\\x00-\\x1f\\x7f]", "?");
    return t.length() > 512 ? t.substring(0, 512) : t;
  }

  /** EHLO (RFC 5321 §4.1.1.1): the extensions, keyword upper-cased to its parameters; HELO when EHLO fails. */
  Map<String, String> ehlo(String name) throws IOException {
    send("EHLO " + name);
    flush();
    Response r = read(MAIL_TIMEOUT);
    Map<String, String> caps = new LinkedHashMap<>();
    if (r.code() == 250) {
      for (int i = 1; i < r.lines().size(); i++) {
        String l = r.lines().get(i).strip();
        int sp = l.indexOf(' ');
        String kw = (sp < 0 ? l : l.substring(0, sp)).toUpperCase(Locale.ROOT);
        caps.put(kw, sp < 0 ? "" : l.substring(sp + 1).strip());
      }
      return caps;
    }
    if (r.code() == 421) {
      throw new HostException(host + " refused EHLO: " + r.text());
    }
    send("HELO " + name);
    flush();
    Response h = read(MAIL_TIMEOUT);
    if (h.code() != 250) {
      throw new HostException(host + " refused HELO: " + h.text());
    }
    return caps;
  }

  /** QUIT, without waiting long for the answer. */
  void quit() {
    try {
      send("QUIT");
      flush();
      read(Duration.ofSeconds(5));
    } catch (IOException e) {
      // the transaction is over either way
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // nothing to do
    }
  }
}
