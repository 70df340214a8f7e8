package org.darwinmail.admin.web;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/** A raw HTTP/1.1 client over TLS for the admin listener's tests: one request per connection, bytes as given. */
final class AdminHttp {
  record Reply(int status, Map<String, List<String>> headers, String body) {
    String header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null ? null : v.get(0);
    }
  }

  private final int port;

  AdminHttp(int port) {
    this.port = port;
  }

  /**
   * Signs in over /api/login (which must answer 200) and returns the headers of that session's state-changing
   * requests: its cookie and its CSRF token.
   */
  String[] signIn(String name, String password) throws Exception {
    Reply r = post("/api/login", "{\"name\":\"" + name + "\",\"password\":\"" + password + "\"}");
    if (r.status() != 200) {
      throw new AssertionError("login of " + name + " answered " + r.status() + ": " + r.body());
    }
    String c = r.header("Set-Cookie");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"csrf\":\"([^\"]+)\"").matcher(r.body());
    if (!m.find()) {
      throw new AssertionError("no CSRF token in the login answer: " + r.body());
    }
    return new String[] {"Cookie: " + c.substring(0, c.indexOf(';')), "X-CSRF-Token: " + m.group(1)};
  }

  static SSLContext trustAll() throws Exception {
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
    return ctx;
  }

  SSLSocket open() throws Exception {
    Socket plain = new Socket("127.0.0.1", port);
    SSLSocket s = (SSLSocket) trustAll().getSocketFactory().createSocket(plain, "127.0.0.1", port, true);
    s.setSoTimeout(20_000);
    s.startHandshake();
    return s;
  }

  /** Sends {@code head} (request line and headers, without the blank line) and {@code body}; reads the reply. */
  Reply send(String head, byte[] body) throws Exception {
    try (SSLSocket s = open()) {
      OutputStream out = s.getOutputStream();
      out.write((head + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      if (body != null) {
        try {
          out.write(body);
        } catch (IOException e) {
          // the server may answer and close before reading a refused body
        }
      }
      out.flush();
      return read(s.getInputStream());
    }
  }

  Reply get(String path, String... headers) throws Exception {
    return send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close"
        + extra(headers), null);
  }

  Reply post(String path, String json, String... headers) throws Exception {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    return send("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close"
        + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length + extra(headers), b);
  }

  private static String extra(String[] headers) {
    StringBuilder sb = new StringBuilder();
    for (String h : headers) {
      sb.append("\r\n").append(h);
    }
    return sb.toString();
  }

  static Reply read(InputStream in) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    in.transferTo(all);
    String text = all.toString(StandardCharsets.UTF_8);
    int end = text.indexOf("\r\n\r\n");
    if (end < 0) {
      throw new IOException("no complete reply: " + text);
    }
    String[] lines = text.substring(0, end).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, List<String>> h = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int c = lines[i].indexOf(':');
      h.computeIfAbsent(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(lines[i].substring(c + 1).trim());
    }
    return new Reply(status, h, text.substring(end + 4));
  }
}
