package org.darwinmail.admin.tls;

import java.io.InputStream;
import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.darwinmail.net.Tls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews an ACME certificate before its end: a check every {@link #EVERY} (and one a minute after start) renews
 * when the served certificate ends within {@link #BEFORE} (a third of Let's Encrypt's 90 days, as the CA advises).
 * A failure is logged and tried again at the next check; the old certificate stays served meanwhile.
 */
public final class AcmeRenewal implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AcmeRenewal.class);
  static final Duration BEFORE = Duration.ofDays(30);
  static final Duration EVERY = Duration.ofHours(12);

  private final Acme acme;
  private final Tls tls;
  private final Clock clock;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().name("acme-renewal").daemon().factory());
  private volatile Instant nextCheck;
  private volatile String lastFailure;

  public AcmeRenewal(Acme acme, Tls tls, Clock clock) {
    this.acme = acme;
    this.tls = tls;
    this.clock = clock;
  }

  public AcmeRenewal start() {
    nextCheck = clock.instant().plusSeconds(60);
    timer.scheduleWithFixedDelay(this::checkQuietly, 60, EVERY.toSeconds(), TimeUnit.SECONDS);
    return this;
  }

  private void checkQuietly() {
    try {
      check();
    } catch (RuntimeException e) {
      lastFailure = e.getMessage();
      log.warn("ACME renewal failed, tried again in {} hours: {}", EVERY.toHours(), e.getMessage());
    } finally {
      nextCheck = clock.instant().plus(EVERY);
    }
  }

  /**
   * For the console: null when the certificate is not from ACME; else the host name, when the next check runs,
   * from when a check renews ({@link #BEFORE} before the end) and the last renewal failure (null if none).
   */
  public Plan plan() {
    Acme.Ordered o = acme.ordered();
    if (o == null) {
      return null;
    }
    Instant end = notAfter(tls);
    return new Plan(o.hostname(), o.directory(), nextCheck, end == null ? null : end.minus(BEFORE), lastFailure);
  }

  /** What {@link #plan} tells. */
  public record Plan(String hostname, String directory, Instant nextCheck, Instant renewsFrom, String lastFailure) {}

  /** Renews now when an ACME order is recorded and the certificate ends within {@link #BEFORE}; true if renewed. */
  public boolean check() {
    Acme.Ordered o = acme.ordered();
    if (o == null) {
      return false;
    }
    Instant end = notAfter(tls);
    if (end != null && end.isAfter(clock.instant().plus(BEFORE))) {
      return false;
    }
    log.info("ACME: the certificate for {} ends {}: renewing", o.hostname(), end);
    acme.obtain(o.directory(), o.hostname(), o.email(), tls);
    lastFailure = null;
    return true;
  }

  static Instant notAfter(Tls tls) {
    try (InputStream in = Files.newInputStream(tls.certFile())) {
      return ((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in)).getNotAfter()
          .toInstant();
    } catch (Exception e) {
      return null;
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
