package org.darwinmail.config;

import java.util.List;

/**
 * Outbound delivery: the queue, its retries and the SMTP client.
 *
 * @param concurrency           simultaneous outbound SMTP transactions, all destinations together
 * @param perDestination        simultaneous transactions to one recipient domain (or to the smarthost)
 * @param port                  TCP port of remote MX hosts (25; tests point it elsewhere)
 * @param connectTimeoutSeconds TCP connect timeout per address
 * @param retrySeconds          waits between attempts; the last one repeats (defaults 5 min, 15 min, 30 min, 1 h,
 *                              2 h, then every 4 h)
 * @param lifetimeSeconds       a message not delivered after this long is bounced (default 5 days)
 * @param delayWarningSeconds   a delay notice (RFC 3464 "delayed") is sent once after this long; 0 turns it off
 * @param smarthost             "host:port" that relays all outbound mail; "" delivers directly through MX lookups
 * @param smarthostUser         AUTH user for the smarthost; "" for none
 * @param smarthostPassword     AUTH password for the smarthost
 * @param smarthostTls          "starttls" (required) or "implicit" (RFC 8314) towards the smarthost
 * @param smarthostCa           PEM file of the certificates (CAs, or the smarthost's own) that the smarthost's
 *                              certificate must chain to; "" = the system's trust store. The smarthost's name must
 *                              match its certificate either way (it receives our password).
 * @param dkim                  sign outbound mail of local domains (RFC 6376)
 * @param dkimSelector          the DKIM selector of the per-domain keys
 * @param traceRetentionDays    days the delivery trace (ARCHITECTURE.md, "Outbound delivery") keeps an event
 *                              (default 30)
 * @param traceMaxRows          events the delivery trace keeps at most, the oldest pruned first (default 1,000,000:
 *                              about 400 MB in the database with every text at its longest)
 * @param mtaSts                honour the MTA-STS policies (RFC 8461) of recipient domains when delivering through
 *                              their MX hosts (not through a smarthost); default true
 * @param mtaStsPort            TCP port of the policy hosts' HTTPS ({@code https://mta-sts.DOMAIN/}: 443; tests point
 *                              it elsewhere)
 * @param mtaStsCa              PEM file of the CA certificates that a policy host's and, under a policy, an MX host's
 *                              certificate must chain to; "" (the default) = the system's trust store. For a private
 *                              CA, and for tests: never a way to turn the checks off.
 * @param tlsRptReports         send the daily TLS reports (RFC 8460) of the sessions counted under MTA-STS to the
 *                              addresses of each policy domain's {@code _smtp._tls} record; default true
 * @param tlsRptOrganization    the reports' organization-name; "" (the default) = the server's host name
 * @param leaseSeconds          several nodes on one queue: how long a node's claim on a queued recipient lasts unless
 *                              renewed (every quarter of it while the node runs), so how long the recipients of a
 *                              node that died wait for the others (default 120; README, "Running on PostgreSQL")
 */
public record DeliveryConfig(Integer concurrency, Integer perDestination, Integer port, Integer connectTimeoutSeconds,
    List<Integer> retrySeconds, Long lifetimeSeconds, Long delayWarningSeconds, String smarthost,
    String smarthostUser, String smarthostPassword, String smarthostTls, String smarthostCa, Boolean dkim,
    String dkimSelector, Integer traceRetentionDays, Long traceMaxRows, Boolean mtaSts, Integer mtaStsPort,
    String mtaStsCa, Boolean tlsRptReports, String tlsRptOrganization,
    Integer leaseSeconds) {

  public DeliveryConfig {
    concurrency = concurrency == null ? 20 : concurrency;
    perDestination = perDestination == null ? 5 : perDestination;
    port = port == null ? 25 : port;
    connectTimeoutSeconds = connectTimeoutSeconds == null ? 30 : connectTimeoutSeconds;
    retrySeconds = retrySeconds == null ? List.of(300, 900, 1800, 3600, 7200, 14400) : List.copyOf(retrySeconds);
    lifetimeSeconds = lifetimeSeconds == null ? 5L * 24 * 3600 : lifetimeSeconds;
    delayWarningSeconds = delayWarningSeconds == null ? 4L * 3600 : delayWarningSeconds;
    smarthost = smarthost == null ? "" : smarthost.trim();
    smarthostUser = smarthostUser == null ? "" : smarthostUser;
    smarthostPassword = smarthostPassword == null ? "" : smarthostPassword;
    smarthostTls = smarthostTls == null ? "starttls" : smarthostTls.trim().toLowerCase(java.util.Locale.ROOT);
    smarthostCa = smarthostCa == null ? "" : smarthostCa.trim();
    dkim = dkim == null ? Boolean.TRUE : dkim;
    dkimSelector = dkimSelector == null ? "darwin" : dkimSelector.trim();
    traceRetentionDays = traceRetentionDays == null ? 30 : traceRetentionDays;
    traceMaxRows = traceMaxRows == null ? 1_000_000L : traceMaxRows;
    mtaSts = mtaSts == null ? Boolean.TRUE : mtaSts;
    mtaStsPort = mtaStsPort == null ? 443 : mtaStsPort;
    mtaStsCa = mtaStsCa == null ? "" : mtaStsCa.trim();
    tlsRptReports = tlsRptReports == null ? Boolean.TRUE : tlsRptReports;
    tlsRptOrganization = tlsRptOrganization == null ? "" : tlsRptOrganization.strip();
    if (tlsRptOrganization.length() > 200 || tlsRptOrganization.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f)) {
      throw new ConfigException("delivery.tls_rpt_organization: at most 200 characters, no control characters");
    }
    leaseSeconds = leaseSeconds == null ? 120 : leaseSeconds;
    Checks.range("delivery.lease_seconds", leaseSeconds, 5, 3600);
    Checks.range("delivery.mta_sts_port", mtaStsPort, 1, 65535);
    if (!mtaStsCa.isEmpty() && !java.nio.file.Files.isReadable(java.nio.file.Path.of(mtaStsCa))) {
      throw new ConfigException("delivery.mta_sts_ca: cannot read " + mtaStsCa);
    }
    Checks.range("delivery.trace_retention_days", traceRetentionDays, 1, 3650);
    Checks.range("delivery.trace_max_rows", traceMaxRows, 1000, 100_000_000);
    Checks.range("delivery.concurrency", concurrency, 1, 1000);
    Checks.range("delivery.per_destination", perDestination, 1, 1000);
    Checks.range("delivery.port", port, 1, 65535);
    Checks.range("delivery.connect_timeout_seconds", connectTimeoutSeconds, 1, 600);
    if (retrySeconds.isEmpty()) {
      throw new ConfigException("delivery.retry_seconds: needs at least one value");
    }
    for (int r : retrySeconds) {
      Checks.range("delivery.retry_seconds", r, 1, 7 * 86_400);
    }
    Checks.range("delivery.lifetime_seconds", lifetimeSeconds, 1, 60L * 86_400);
    Checks.range("delivery.delay_warning_seconds", delayWarningSeconds, 0, 60L * 86_400);
    if (!smarthost.isEmpty()) {
      HostPort.parse("delivery.smarthost", smarthost);
    }
    if (!smarthostTls.equals("starttls") && !smarthostTls.equals("implicit")) {
      throw new ConfigException("delivery.smarthost_tls: must be \"starttls\" or \"implicit\"");
    }
    if (!smarthostCa.isEmpty() && !java.nio.file.Files.isReadable(java.nio.file.Path.of(smarthostCa))) {
      throw new ConfigException("delivery.smarthost_ca: cannot read " + smarthostCa);
    }
    if (!dkimSelector.matches("[A-Za-z0-9][A-Za-z0-9-]{0,62}")) {
      throw new ConfigException("delivery.dkim_selector: must be a DNS label");
    }
  }

  /** {@link #leaseSeconds} as a duration. */
  public java.time.Duration lease() {
    return java.time.Duration.ofSeconds(leaseSeconds);
  }

  public static DeliveryConfig defaults() {
    return new DeliveryConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null);
  }

  /** The wait before attempt number {@code attempts + 1} (attempts already made, at least 1). */
  public int retryAfter(int attempts) {
    return retrySeconds.get(Math.min(Math.max(attempts, 1), retrySeconds.size()) - 1);
  }

  public DeliveryConfig withPort(int p) {
    return new DeliveryConfig(concurrency, perDestination, p, connectTimeoutSeconds, retrySeconds, lifetimeSeconds,
        delayWarningSeconds, smarthost, smarthostUser, smarthostPassword, smarthostTls, smarthostCa, dkim,
        dkimSelector, traceRetentionDays, traceMaxRows, mtaSts, mtaStsPort, mtaStsCa, tlsRptReports,
        tlsRptOrganization, leaseSeconds);
  }

  public DeliveryConfig withConcurrency(int total, int oneDestination) {
    return new DeliveryConfig(total, oneDestination, port, connectTimeoutSeconds, retrySeconds, lifetimeSeconds,
        delayWarningSeconds, smarthost, smarthostUser, smarthostPassword, smarthostTls, smarthostCa, dkim,
        dkimSelector, traceRetentionDays, traceMaxRows, mtaSts, mtaStsPort, mtaStsCa, tlsRptReports,
        tlsRptOrganization, leaseSeconds);
  }

  public DeliveryConfig withRetry(List<Integer> retry, long lifetime, long delayWarning) {
    return new DeliveryConfig(concurrency, perDestination, port, connectTimeoutSeconds, retry, lifetime,
        delayWarning, smarthost, smarthostUser, smarthostPassword, smarthostTls, smarthostCa, dkim,
        dkimSelector, traceRetentionDays, traceMaxRows, mtaSts, mtaStsPort, mtaStsCa, tlsRptReports,
        tlsRptOrganization, leaseSeconds);
  }

  public DeliveryConfig withSmarthostCa(String file) {
    return new DeliveryConfig(concurrency, perDestination, port, connectTimeoutSeconds, retrySeconds,
        lifetimeSeconds, delayWarningSeconds, smarthost, smarthostUser, smarthostPassword, smarthostTls, file, dkim,
        dkimSelector, traceRetentionDays, traceMaxRows, mtaSts, mtaStsPort, mtaStsCa, tlsRptReports,
        tlsRptOrganization, leaseSeconds);
  }

  public DeliveryConfig withTrace(int retentionDays, long maxRows) {
    return new DeliveryConfig(concurrency, perDestination, port, connectTimeoutSeconds, retrySeconds,
        lifetimeSeconds, delayWarningSeconds, smarthost, smarthostUser, smarthostPassword, smarthostTls, smarthostCa,
        dkim, dkimSelector, retentionDays, maxRows, mtaSts, mtaStsPort, mtaStsCa, tlsRptReports,
        tlsRptOrganization, leaseSeconds);
  }

  public DeliveryConfig withSmarthost(String host, String user, String password, String tls) {
    return new DeliveryConfig(concurrency, perDestination, port, connectTimeoutSeconds, retrySeconds,
        lifetimeSeconds, delayWarningSeconds, host, user, password, tls, smarthostCa, dkim, dkimSelector,
        traceRetentionDays, traceMaxRows, mtaSts, mtaStsPort, mtaStsCa, tlsRptReports,
        tlsRptOrganization, leaseSeconds);
  }

  /** MTA-STS towards MX hosts on or off, its policy hosts' HTTPS port, and the CAs it trusts ("" = the system's). */
  public DeliveryConfig withMtaSts(boolean on, int httpsPort, String caFile) {
    return new DeliveryConfig(concurrency, perDestination, port, connectTimeoutSeconds, retrySeconds,
        lifetimeSeconds, delayWarningSeconds, smarthost, smarthostUser, smarthostPassword, smarthostTls, smarthostCa,
        dkim, dkimSelector, traceRetentionDays, traceMaxRows, on, httpsPort, caFile, tlsRptReports,
        tlsRptOrganization, leaseSeconds);
  }

  /** TLS reports (RFC 8460) on or off, and the organization-name they carry ("" = the host name). */
  public DeliveryConfig withTlsRpt(boolean on, String organization) {
    return new DeliveryConfig(concurrency, perDestination, port, connectTimeoutSeconds, retrySeconds,
        lifetimeSeconds, delayWarningSeconds, smarthost, smarthostUser, smarthostPassword, smarthostTls, smarthostCa,
        dkim, dkimSelector, traceRetentionDays, traceMaxRows, mtaSts, mtaStsPort, mtaStsCa, on, organization, leaseSeconds);
  }
}
