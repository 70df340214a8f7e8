package org.darwinmail.admin.web;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The Prometheus view of Micrometer's global registry, where every meter of the server is registered. Added once
 * per process, by the first admin listener: the global registry hands it every meter registered before and after.
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
