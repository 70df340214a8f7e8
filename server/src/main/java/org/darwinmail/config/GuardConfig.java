package org.darwinmail.config;

/**
 * The abuse guard. The guard engineer extends this record.
 *
 * @param maxConnectionsPerAddress simultaneous connections from one client address, per listener
 */
public record GuardConfig(Integer maxConnectionsPerAddress) {
  public GuardConfig {
    maxConnectionsPerAddress = maxConnectionsPerAddress == null ? 50 : maxConnectionsPerAddress;
    Checks.range("guard.max_connections_per_address", maxConnectionsPerAddress, 1, 100_000);
  }

  public static GuardConfig defaults() {
    return new GuardConfig(null);
  }
}
