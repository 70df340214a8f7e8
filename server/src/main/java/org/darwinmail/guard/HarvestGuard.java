package org.darwinmail.guard;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.darwinmail.config.GuardConfig;

/**
 * Slows, then refuses, directory harvesting: a client address that names many unknown local recipients (within
 * an hour, across its connections) gets each further RCPT answered after a growing delay, and past the refusal
 * threshold its sessions are closed with 421 and its RCPTs refused for {@link #REFUSAL}. Clients in the trusted
 * networks ({@code guard.inbound.trusted_networks}: loopback by default, local relays) are never slowed: they pass
 * on mail for others, unknown recipients included. IPv6 clients count by /64 ({@link Networks#clientKey}).
 */
public final class HarvestGuard {
  static final Duration FORGET_AFTER = Duration.ofHours(1);
  static final Duration REFUSAL = Duration.ofMinutes(15);
  static final long BASE_DELAY_MS = 250;
  static final long MAX_DELAY_MS = 8_000;

  private final int delayAfter;
  private final int refuseAfter;
  private final Clock clock;
  private final Networks trusted;
  private final Map<String, Probe> byAddress = new ConcurrentHashMap<>();

  public HarvestGuard(GuardConfig config) {
    this(config, Clock.systemUTC());
  }

  public HarvestGuard(GuardConfig config, Clock clock) {
    this.delayAfter = config.harvestDelayAfter();
    this.refuseAfter = config.harvestRefuseAfter();
    this.clock = clock;
    this.trusted = new Networks(config.inbound().trustedNetworks());
  }

  /** What to do with a RCPT: refuse it (and close), or answer it after {@code delay}. */
  public record Verdict(boolean refuse, Duration delay) {
    static final Verdict GO = new Verdict(false, Duration.ZERO);
  }

  /** Before a RCPT from {@code address}: refused while the address is refused, else its current delay. */
  public Verdict check(InetAddress address) {
    if (trusted.contains(address)) {
      return Verdict.GO;
    }
    Probe p = get(Networks.clientKey(address));
    return p == null ? Verdict.GO : verdict(p.count);
  }

  /** A RCPT from {@code address} named an unknown local recipient: the verdict after counting it. */
  public Verdict unknown(InetAddress address) {
    if (trusted.contains(address)) {
      return Verdict.GO;
    }
    long now = clock.millis();
    if (byAddress.size() > 100_000) {
      byAddress.values().removeIf(p -> expired(p, now));
    }
    Probe p = byAddress.compute(Networks.clientKey(address), (k, old) -> {
      Probe q = old == null || expired(old, now) ? new Probe() : old;
      q.count++;
      q.last = now;
      return q;
    });
    return verdict(p.count);
  }

  private Verdict verdict(int count) {
    if (count >= refuseAfter) {
      return new Verdict(true, Duration.ZERO);
    }
    if (count < delayAfter) {
      return Verdict.GO;
    }
    long ms = Math.min(MAX_DELAY_MS, BASE_DELAY_MS << Math.min(count - delayAfter, 16));
    return new Verdict(false, Duration.ofMillis(ms));
  }

  private Probe get(String key) {
    Probe p = byAddress.get(key);
    if (p != null && expired(p, clock.millis())) {
      byAddress.remove(key, p);
      return null;
    }
    return p;
  }

  private boolean expired(Probe p, long now) {
    long keep = p.count >= refuseAfter ? REFUSAL.toMillis() : FORGET_AFTER.toMillis();
    return now - p.last > keep;
  }

  private static final class Probe {
    int count;
    long last;
  }
}
