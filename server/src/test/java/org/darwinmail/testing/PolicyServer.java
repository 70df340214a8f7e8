package org.darwinmail.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;

/**
 * An MTA-STS policy host for tests: HTTPS on 127.0.0.1 with the certificate of the context it is given (made by a
 * test CA), answering {@code GET /.well-known/mta-sts.txt} by its {@code Host} header with the answer set for that
 * host: a status, a Content-Type and a body (sent with a Content-Length). Unknown hosts get 404. A POST (a TLS
 * report) is kept in {@link #posts} and answered {@link #postStatus}. One thread per
 * connection; counts the requests per host.
 */
public final class PolicyServer implements AutoCloseable {
  /** An answer: status, Content-Type (null: none), body. */
  public record Answer(int status, String contentType, String body) {
    public static Answer policy(String text) {
      return new Answer(200, "text/plain; charset=utf-8", text);
    }
  }

  /** A POST received (a TLS report, RFC 8460 §5.4): host, path, Content-Type and body. */
  public record Post(String host, String path, String contentType, byte[] body) {}

  /** The POSTs received, in order (answered {@link #postStatus}). */
  public final java.util.List<Post> posts = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** The status a POST gets. */
  public volatile int postStatus = 200;
  private final SSLServerSocket server;
  private final Map<String, Answer> answers = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();

  public PolicyServer(SSLContext tls) throws IOException {
    server = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    Thread.ofVirtual().start(this::accept);
  }

  public int port() {
    return server.getLocalPort();
  }

  /** What {@code https://HOST/.well-known/mta-sts.txt} answers from now on. */
  public void set(String host, Answer a) {
    answers.put(host.toLowerCase(Locale.ROOT), a);
  }

  /** Requests received for {@code host}. */
  public int requests(String host) {
    return requests.computeIfAbsent(host.toLowerCase(Locale.ROOT), h -> new AtomicInteger()).get();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        Thread.ofVirtual().start(() -> serve(s));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      s.setSoTimeout(10_000);
      InputStream in = s.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (head.size() < 16_384) {
        int c = in.read();
        if (c < 0) {
          return;
        }
        head.write(c);
        String h = head.toString(StandardCharsets.ISO_8859_1);
        if (h.endsWith("\r\n\r\n")) {
          break;
        }
      }
      String host = "";
      String path = "";
      String method = "";
      String type = null;
      int length = 0;
      for (String line : head.toString(StandardCharsets.ISO_8859_1).split("\r\n")) {
        if (line.startsWith("GET ") || line.startsWith("POST ")) {
          method = line.split(" ")[0];
          path = line.split(" ")[1];
        } else if (line.regionMatches(true, 0, "Host:", 0, 5)) {
          host = line.substring(5).strip().toLowerCase(Locale.ROOT).replaceAll(":\\d+$", "");
        } else if (line.regionMatches(true, 0, "Content-Type:", 0, 13)) {
          type = line.substring(13).strip();
        } else if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
          length = Math.min(Integer.parseInt(line.substring(15).strip()), 1 << 20);
        }
      }
      if (method.equals("POST")) {
        byte[] body = in.readNBytes(length);
        posts.add(new Post(host, path, type, body));
        OutputStream out = s.getOutputStream();
        out.write(("HTTP/1.1 " + postStatus + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        return;
      }
      requests.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
      Answer a = path.equals("/.well-known/mta-sts.txt") ? answers.get(host) : null;
      if (a == null) {
        a = new Answer(404, "text/plain", "not found\n");
      }
      byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
      String response = "HTTP/1.1 " + a.status() + " X\r\n" + (a.contentType() == null ? ""
          : "Content-Type: " + a.contentType() + "\r\n") + "Content-Length: " + body.length
          + "\r\nConnection: close\r\n\r\n";
      OutputStream out = s.getOutputStream();
      out.write(response.getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
    } catch (IOException e) {
      // the client went away (or refused our certificate)
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
