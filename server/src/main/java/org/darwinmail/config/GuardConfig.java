package org.darwinmail.config;

/**
 * The abuse guard ({@code [guard]}): connection limits on every listener, directory-harvest slowing on port 25,
 * and the outbound limits of {@code [guard.send]}.
 *
 * @param maxConnectionsPerAddress simultaneous connections from one client address, per listener
 * @param maxConnectionsPerMinute  new connections from one client address per minute, per listener
 * @param maxConnectionsPerListener simultaneous connections on one listener from all addresses together: 5,000
 *                                 by default, for the appliance's 4 GB (its 320 MB heap held 10,000 IMAP IDLE
 *                                 connections in `make bench-idle`, so two listeners full at once still fit)
 * @param harvestDelayAfter        unknown recipients from one address (within an hour) before each further
 *                                 RCPT is answered slowly (a growing delay)
 * @param harvestRefuseAfter       unknown recipients from one address (within an hour) after which the session
 *                                 is closed with 421 and further RCPTs from it are refused
 * @param loginDelayMillis         the delay before answering a login after one failure (it doubles with each
 *                                 further failure, up to 8 s), per client address and per account
 * @param loginLockAfter           failed logins from one address for one account before a lockout (an address
 *                                 is locked after 3 times as many, an account everywhere after 5 times as many)
 * @param loginLockoutSeconds      how long a lockout lasts
 * @param send                     outbound limits and burst blocking of authenticated senders
 * @param inbound                  SPF, DKIM, DMARC and DNSBL checks of mail arriving on port 25
 */
public record GuardConfig(Integer maxConnectionsPerAddress, Integer maxConnectionsPerMinute,
    Integer maxConnectionsPerListener, Integer harvestDelayAfter, Integer harvestRefuseAfter, Integer loginDelayMillis, Integer loginLockAfter,
    Integer loginLockoutSeconds, SendConfig send, InboundConfig inbound) {
  public GuardConfig {
    maxConnectionsPerAddress = maxConnectionsPerAddress == null ? 50 : maxConnectionsPerAddress;
    maxConnectionsPerMinute = maxConnectionsPerMinute == null ? 300 : maxConnectionsPerMinute;
    maxConnectionsPerListener = maxConnectionsPerListener == null ? 5_000 : maxConnectionsPerListener;
    harvestDelayAfter = harvestDelayAfter == null ? 5 : harvestDelayAfter;
    harvestRefuseAfter = harvestRefuseAfter == null ? 20 : harvestRefuseAfter;
    loginDelayMillis = loginDelayMillis == null ? 250 : loginDelayMillis;
    loginLockAfter = loginLockAfter == null ? 10 : loginLockAfter;
    loginLockoutSeconds = loginLockoutSeconds == null ? 900 : loginLockoutSeconds;
    send = send == null ? SendConfig.defaults() : send;
    inbound = inbound == null ? InboundConfig.defaults() : inbound;
    Checks.range("guard.login_delay_millis", loginDelayMillis, 0, 8_000);
    Checks.range("guard.login_lock_after", loginLockAfter, 1, 1_000);
    Checks.range("guard.login_lockout_seconds", loginLockoutSeconds, 1, 86_400);
    Checks.range("guard.max_connections_per_address", maxConnectionsPerAddress, 1, 100_000);
    Checks.range("guard.max_connections_per_minute", maxConnectionsPerMinute, 1, 1_000_000);
    Checks.range("guard.max_connections_per_listener", maxConnectionsPerListener, 1, 1_000_000);
    Checks.range("guard.harvest_delay_after", harvestDelayAfter, 1, 100_000);
    Checks.range("guard.harvest_refuse_after", harvestRefuseAfter, harvestDelayAfter, 100_000);
  }

  public static GuardConfig defaults() {
    return new GuardConfig(null, null, null, null, null, null, null, null, null, null);
  }

  public GuardConfig withConnections(int perAddress, int perMinute) {
    return new GuardConfig(perAddress, perMinute, maxConnectionsPerListener, harvestDelayAfter, harvestRefuseAfter, loginDelayMillis,
        loginLockAfter, loginLockoutSeconds, send, inbound);
  }

  public GuardConfig withHarvest(int delayAfter, int refuseAfter) {
    return new GuardConfig(maxConnectionsPerAddress, maxConnectionsPerMinute, maxConnectionsPerListener, delayAfter, refuseAfter,
        loginDelayMillis, loginLockAfter, loginLockoutSeconds, send, inbound);
  }

  public GuardConfig withLogins(int delayMillis, int lockAfter, int lockoutSeconds) {
    return new GuardConfig(maxConnectionsPerAddress, maxConnectionsPerMinute, maxConnectionsPerListener, harvestDelayAfter, harvestRefuseAfter,
        delayMillis, lockAfter, lockoutSeconds, send, inbound);
  }

  public GuardConfig withInbound(InboundConfig i) {
    return new GuardConfig(maxConnectionsPerAddress, maxConnectionsPerMinute, maxConnectionsPerListener, harvestDelayAfter, harvestRefuseAfter,
        loginDelayMillis, loginLockAfter, loginLockoutSeconds, send, i);
  }
}
