package org.darwinmail.config;

import java.util.List;

/**
 * @param servers        resolvers as "host:port"; empty means the system's resolvers
 * @param timeoutSeconds per-query timeout
 */
public record DnsConfig(List<String> servers, Integer timeoutSeconds) {
  public DnsConfig {
    servers = servers == null ? List.of() : List.copyOf(servers);
    timeoutSeconds = timeoutSeconds == null ? 5 : timeoutSeconds;
    for (String s : servers) {
      HostPort.parse("dns.servers", s);
    }
    if (timeoutSeconds < 1 || timeoutSeconds > 120) {
      throw new ConfigException("dns.timeout_seconds: must be between 1 and 120");
    }
  }
}
