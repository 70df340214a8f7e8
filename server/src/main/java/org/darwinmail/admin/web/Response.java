package org.darwinmail.admin.web;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/** One HTTP response before it is encoded; security headers are added for every response by {@link HttpGate}. */
record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
  static final JsonMapper JSON = JsonMapper.builder().build();

  static Response json(int status, Object value) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Cache-Control", "no-store");
    return new Response(status, "application/json; charset=utf-8", JSON.writeValueAsBytes(value), h);
  }

  static Response error(int status, String message) {
    return json(status, Map.of("error", message));
  }

  static Response text(int status, String text) {
    return new Response(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8),
        new LinkedHashMap<>());
  }

  static Response redirect(String location) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Location", location);
    return new Response(303, "text/plain; charset=utf-8", new byte[0], h);
  }

  Response with(String name, String value) {
    Map<String, String> h = new LinkedHashMap<>(headers);
    h.put(name, value);
    return new Response(status, contentType, body, h);
  }
}
