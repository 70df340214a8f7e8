package org.darwinmail.delivery;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.darwinmail.dns.Dns;
import org.darwinmail.errors.Errors;

/**
 * Fetches a domain's MTA-STS policy (RFC 8461 §3.3): {@code GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt},
 * the host's addresses from the server's own resolver ({@link Dns}, as delivery uses), over TLS 1.2+ with a
 * certificate that chains to a trusted CA and names {@code mta-sts.DOMAIN} (RFC 6125), HTTP/1.1 written by hand on
 * one blocking socket. Bounded everywhere: {@link #MAX_BODY} octets of policy, {@link #MAX_HEAD} of status line and
 * headers, a connect timeout, a read timeout and a deadline for the whole exchange. Only "200" with a
 * {@code text/plain} body is a policy; a 3xx is not followed (§3.3: "HTTP 3xx redirects MUST NOT be followed").
 */
final class PolicyFetch {
  /** §3.3 suggests 64 kilobytes as the largest policy a sender takes. */
  static final int MAX_BODY = 64 * 1024;
  static final int MAX_HEAD = 16 * 1024;
  static final Duration CONNECT = Duration.ofSeconds(10);
  /** The whole exchange, at most (§3.3 suggests a timeout of one minute; a policy is a few hundred bytes). */
  static final Duration DEADLINE = Duration.ofSeconds(30);

  private final Dns dns;
  private final int port;
  private final java.util.function.Supplier<SSLSocketFactory> tls;

  /** @param tls a verifying factory (the CAs trusted; the name is checked here), asked at each fetch */
  PolicyFetch(Dns dns, int port, java.util.function.Supplier<SSLSocketFactory> tls) {
    this.dns = dns;
    this.port = port;
    this.tls = tls;
  }

  /** The policy text of {@code domain}; an IOException whose message says, in words, why there is none. */
  String fetch(String domain) throws IOException {
    String host = "mta-sts." + domain;
    byte[] get = ("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: Darwin Mail\r\n"
        + "Accept: text/plain\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    String url = "https://" + host + (port == 443 ? "" : ":" + port) + "/.well-known/mta-sts.txt";
    return onAddresses(host, port, url, get, PolicyFetch::read);
  }

  /**
   * POSTs a TLS report (RFC 8460 §5.4) to an https URI: {@code Content-Type: application/tlsrpt+gzip}, the same
   * bounds and certificate checks as a policy fetch (the name checked against the URI's host). Returns the HTTP
   * status; an IOException says why there is none.
   */
  int post(java.net.URI uri, byte[] gzipped) throws IOException {
    String host = uri.getHost();
    int p = uri.getPort() < 0 ? 443 : uri.getPort();
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    if (uri.getRawQuery() != null) {
      path += "?" + uri.getRawQuery();
    }
    byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: " + host + (p == 443 ? "" : ":" + p) + "\r\n"
        + "User-Agent: Darwin Mail\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Length: " + gzipped.length
        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] request = new byte[head.length + gzipped.length];
    System.arraycopy(head, 0, request, 0, head.length);
    System.arraycopy(gzipped, 0, request, head.length, gzipped.length);
    return onAddresses(host, p, uri.toString(), request, PolicyFetch::status);
  }

  /** Reads an answer; an IOException whose message says why there is none. */
  private interface Answer<T> {
    T read(InputStream in, String where) throws IOException;
  }

  /** {@code request} to the first (at most two) addresses of {@code host} that answer. */
  private <T> T onAddresses(String host, int port, String url, byte[] request, Answer<T> answer)
      throws IOException {
    List<InetAddress> addrs = switch (dns.addresses(host)) {
      case Dns.Answer.Found<InetAddress> f when !f.values().isEmpty() -> f.values();
      case Dns.Answer.Found<InetAddress> f -> throw new IOException(host + " has no address");
      case Dns.Answer.NoSuchDomain<InetAddress> n -> throw new IOException(host + " does not exist");
      case Dns.Answer.Temporary<InetAddress> t -> throw new IOException(t.reason());
    };
    IOException last = null;
    for (InetAddress a : addrs.subList(0, Math.min(2, addrs.size()))) {
      try {
        return exchange(host, port, a, url + " [" + a.getHostAddress() + "]", request, answer);
      } catch (PolicyRefused e) {
        throw e; // the host answered: another address of it would answer the same
      } catch (IOException e) {
        last = e;
      }
    }
    throw last;
  }

  /** The server answered, and what it answered is no policy. */
  static final class PolicyRefused extends IOException {
    PolicyRefused(String message) {
      super(message);
    }
  }

  /** The policy host's certificate is not valid (RFC 8460's "sts-webpki-invalid"). */
  static final class WebPkiInvalid extends IOException {
    WebPkiInvalid(String message) {
      super(message);
    }
  }

  private <T> T exchange(String host, int port, InetAddress a, String where, byte[] request, Answer<T> answer)
      throws IOException {
    Socket plain = new Socket();
    // The deadline: a server dripping one byte at a time within the read timeout still ends here.
    Thread watchdog = Thread.ofVirtual().start(() -> {
      try {
        Thread.sleep(DEADLINE);
        plain.close();
      } catch (InterruptedException | IOException e) {
        // done in time
      }
    });
    try {
      plain.connect(new InetSocketAddress(a, port), (int) CONNECT.toMillis());
      plain.setSoTimeout((int) CONNECT.toMillis());
      SSLSocket s = (SSLSocket) tls.get().createSocket(plain, host, port, true);
      SSLParameters p = s.getSSLParameters();
      p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
      p.setEndpointIdentificationAlgorithm("HTTPS"); // RFC 6125 name check against mta-sts.DOMAIN
      p.setServerNames(List.of(new SNIHostName(host)));
      s.setSSLParameters(p);
      try {
        s.startHandshake();
      } catch (javax.net.ssl.SSLException e) {
        throw new WebPkiInvalid(where + ": no valid certificate for " + host + " (" + Errors.describe(e) + ")");
      }
      OutputStream out = s.getOutputStream();
      out.write(request);
      out.flush();
      return answer.read(s.getInputStream(), where);
    } catch (WebPkiInvalid e) {
      throw e;
    } catch (PolicyRefused e) {
      throw e.getMessage().startsWith(where) ? e : new PolicyRefused(where + ": " + e.getMessage());
    } catch (IOException e) {
      if (e.getMessage() != null && e.getMessage().startsWith(where)) {
        throw e;
      }
      throw new IOException(where + ": " + (plain.isClosed() && !watchdog.isAlive()
          ? "no complete answer within " + DEADLINE.toSeconds() + " s" : Errors.describe(e)));
    } finally {
      watchdog.interrupt();
      plain.close();
    }
  }

  /** The status of an answer (RFC 8460 §5.4: a 2xx is a report received); the rest is not read. */
  static int status(InputStream in, String where) throws IOException {
    String status = new Bounded(in, MAX_HEAD).line();
    if (!status.matches("HTTP/1\\.[01] [0-9]{3}( .*)?")) {
      throw new PolicyRefused(where + ": not an HTTP answer");
    }
    return Integer.parseInt(status.substring(9, 12));
  }

  /** The response: status line, headers, then the body as Content-Length, chunks or up to the close say. */
  static String read(InputStream in, String where) throws IOException {
    Bounded b = new Bounded(in, MAX_HEAD);
    String status = b.line();
    if (!status.matches("HTTP/1\\.[01] [0-9]{3}( .*)?")) {
      throw new PolicyRefused(where + ": not an HTTP answer");
    }
    int code = Integer.parseInt(status.substring(9, 12));
    if (code >= 300 && code < 400) {
      throw new PolicyRefused(where + ": HTTP " + code + ", a redirect, which MTA-STS does not follow (RFC 8461"
          + " §3.3)");
    }
    if (code != 200) {
      throw new PolicyRefused(where + ": HTTP " + code);
    }
    long length = -1;
    boolean chunked = false;
    String type = null;
    for (String h; !(h = b.line()).isEmpty(); ) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new PolicyRefused(where + ": a malformed header line");
      }
      String name = h.substring(0, colon).strip().toLowerCase(Locale.ROOT);
      String value = h.substring(colon + 1).strip();
      switch (name) {
        case "content-length" -> {
          if (!value.matches("[0-9]{1,12}")) {
            throw new PolicyRefused(where + ": a malformed Content-Length");
          }
          length = Long.parseLong(value);
        }
        case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).endsWith("chunked");
        case "content-type" -> type = value.toLowerCase(Locale.ROOT);
        default -> { }
      }
    }
    // RFC 8461 §3.3: the policy is served as "text/plain".
    if (type == null || !type.split(";")[0].strip().equals("text/plain")) {
      throw new PolicyRefused(where + ": Content-Type " + (type == null ? "missing" : type) + ", not text/plain");
    }
    if (length > MAX_BODY) {
      throw new PolicyRefused(where + ": the policy is larger than " + MAX_BODY / 1024 + " KB (" + length
          + " bytes)");
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    b.limit = MAX_BODY + MAX_HEAD;
    if (chunked) {
      while (true) {
        String size = b.line().split(";")[0].strip();
        if (!size.matches("[0-9A-Fa-f]{1,8}")) {
          throw new PolicyRefused(where + ": a malformed chunk");
        }
        long n = Long.parseLong(size, 16);
        if (n == 0) {
          break;
        }
        if (body.size() + n > MAX_BODY) {
          throw tooLarge(where);
        }
        body.write(b.bytes((int) n));
        b.line(); // the CRLF ending the chunk
      }
    } else if (length >= 0) {
      body.write(b.bytes((int) length));
    } else {
      byte[] rest = b.rest(MAX_BODY + 1);
      if (rest.length > MAX_BODY) {
        throw tooLarge(where);
      }
      body.write(rest);
    }
    return body.toString(StandardCharsets.UTF_8);
  }

  private static PolicyRefused tooLarge(String where) {
    return new PolicyRefused(where + ": the policy is larger than " + MAX_BODY / 1024 + " KB");
  }

  /** Reads lines and bytes, at most {@code limit} octets in all. */
  private static final class Bounded {
    private final InputStream in;
    int limit;
    private int read;

    Bounded(InputStream in, int limit) {
      this.in = new java.io.BufferedInputStream(in, 8192);
      this.limit = limit;
    }

    private int next() throws IOException {
      if (read >= limit) {
        throw new PolicyRefused("the answer is longer than " + limit / 1024 + " KB");
      }
      int c = in.read();
      if (c < 0) {
        throw new IOException("the connection closed early");
      }
      read++;
      return c;
    }

    String line() throws IOException {
      StringBuilder sb = new StringBuilder();
      for (int c; (c = next()) != '\n'; ) {
        sb.append((char) c);
      }
      int n = sb.length();
      return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
    }

    byte[] bytes(int n) throws IOException {
      byte[] out = new byte[n];
      for (int i = 0; i < n; i++) {
        out[i] = (byte) next();
      }
      return out;
    }

    /** Up to {@code max} octets, until the connection closes. */
    byte[] rest(int max) throws IOException {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (int c; out.size() < max && (c = in.read()) >= 0; ) {
        out.write(c);
      }
      return out.toByteArray();
    }
  }
}
