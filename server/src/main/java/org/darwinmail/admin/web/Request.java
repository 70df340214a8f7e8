package org.darwinmail.admin.web;

import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetAddress;

/** One HTTP request as the API sees it: the body is already whole and bounded (HttpObjectAggregator). */
record Request(String method, String path, String query, HttpHeaders headers, byte[] body, InetAddress client) {
  String header(String name) {
    return headers.get(name);
  }

  boolean unsafe() {
    return !method.equals("GET") && !method.equals("HEAD");
  }
}
