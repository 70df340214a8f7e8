package org.darwinmail.admin.web;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The Prometheus view of Micrometer's global registry, where every meter of the server is registered. Added once
 * per process, before the server's first meter ({@code serve} calls {@link AdminWeb#installMetrics}; an admin
 * listener started otherwise, as in tests, adds it then): a registry added after a meter counts only from then on.
 */
final class Metrics {
  private static final PrometheusMeterRegistry PROMETHEUS = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  static {
    io.micrometer.core.instrument.Metrics.addRegistry(PROMETHEUS);
  }

  private Metrics() {}

  static void install() {
    // loading the class adds the registry
  }

  static String scrape() {
    return PROMETHEUS.scrape();
  }
}
