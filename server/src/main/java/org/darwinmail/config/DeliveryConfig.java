package org.darwinmail.config;

/**
 * Outbound delivery (queue, retries, smarthost). The outbound engineer extends this record.
 *
 * @param concurrency simultaneous outbound deliveries
 */
public record DeliveryConfig(Integer concurrency) {
  public DeliveryConfig {
    concurrency = concurrency == null ? 20 : concurrency;
    Checks.range("delivery.concurrency", concurrency, 1, 1000);
  }

  public static DeliveryConfig defaults() {
    return new DeliveryConfig(null);
  }
}
