package org.darwinmail.config;

/** A "host:port" value; IPv6 hosts in brackets ("[::1]:25"). */
public record HostPort(String host, int port) {

  public static HostPort parse(String key, String value) {
    String v = value.trim();
    int colon = v.lastIndexOf(':');
    if (colon <= 0 || colon == v.length() - 1) {
      throw new ConfigException(key + ": expected \"host:port\", got \"" + value + "\"");
    }
    String host = v.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(v.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new ConfigException(key + ": bad port in \"" + value + "\"");
    }
    if (port < 0 || port > 65535) {
      throw new ConfigException(key + ": port out of range in \"" + value + "\"");
    }
    return new HostPort(host, port);
  }

  @Override
  public String toString() {
    return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
  }
}
