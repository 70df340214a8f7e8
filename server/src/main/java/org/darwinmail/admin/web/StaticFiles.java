package org.darwinmail.admin.web;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pages, stylesheet and ES modules of the console, read once from the jar ({@code /admin/web/}) into memory.
 * Only the files named here are served, so no request path can reach anything else.
 */
final class StaticFiles {
  static final List<String> FILES = List.of("setup.html", "setup-first.html", "login.html", "console.html",
      "app.css", "api.js", "setup.js", "login.js", "console.js",
      // the operations pages (admin.web.Console)
      "dashboard.html", "queue.html", "senders.html", "trace.html", "console.css", "nav.js", "chart.js",
      "dashboard.js", "queue.js", "senders.js", "trace.js", "dns.html", "dns.js",
      "mta-sts.html", "mta-sts.js");
  private final Map<String, byte[]> files = new HashMap<>();

  StaticFiles() {
    for (String f : FILES) {
      try (InputStream in = StaticFiles.class.getResourceAsStream("/admin/web/" + f)) {
        if (in == null) {
          throw new IllegalStateException("missing resource /admin/web/" + f);
        }
        files.put(f, in.readAllBytes());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** The file as a response, or null when there is no such file. */
  Response get(String name, int status) {
    byte[] b = files.get(name);
    if (b == null) {
      return null;
    }
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Cache-Control", "no-cache");
    return new Response(status, type(name), b, h);
  }

  private static String type(String name) {
    if (name.endsWith(".html")) {
      return "text/html; charset=utf-8";
    }
    if (name.endsWith(".css")) {
      return "text/css; charset=utf-8";
    }
    return "text/javascript; charset=utf-8"; // ES modules need a JavaScript MIME type
  }
}
