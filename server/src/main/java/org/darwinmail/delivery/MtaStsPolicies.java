package org.darwinmail.delivery;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.darwinmail.dns.Dns;
import org.darwinmail.store.MtaStsRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which MTA-STS policy (RFC 8461) applies to a recipient domain now, and the TLS reporting counts (RFC 8460) of the
 * sessions made under one. Discovery (§3, §5.1) at each delivery to the domain: the {@code _mta-sts} TXT record
 * through the server's resolver; the cached policy when its id is the record's and it has not expired; otherwise
 * the policy is fetched ({@link PolicyFetch}), parsed ({@link MtaSts#parse}) and cached until fetch time plus its
 * max_age. When no live policy can be had (no record, a DNS failure, a fetch or parse failure) an unexpired cached
 * policy still applies (§3.3: "the sender MUST apply that cached policy"); without one the domain has none. A fetch
 * that failed is not tried again for the same id within {@link #RETRY_FETCH} (§3.3 suggests five minutes).
 *
 * <p>The cache is in memory and in the database ({@link MtaStsRepository}, V016), so that a restart, or another
 * node, keeps applying a policy that an attacker could otherwise strip by blocking the policy host.
 */
final class MtaStsPolicies {
  private static final Logger log = LoggerFactory.getLogger(MtaStsPolicies.class);
  static final Duration RETRY_FETCH = Duration.ofMinutes(5);
  /** Recipient domains remembered in memory, at most. */
  static final int MEMORY = 10_000;

  /** The policy of a domain: where it came from (fetched now, or cached), with its id. */
  record Applied(String domain, String id, MtaSts.Policy policy, boolean cached, Instant expires) {}

  private record Failed(String id, Instant at, String reason) {}

  private final Dns dns;
  private final PolicyFetch fetch;
  /** Null: the cache is in memory only. */
  private final MtaStsRepository repo;
  private final Clock clock;
  private final Map<String, Optional<Applied>> cache = new ConcurrentHashMap<>();
  private final Map<String, Failed> failed = new ConcurrentHashMap<>();
  /** Counts when there is no repository (tests, a CLI process): day|domain|result to sessions. */
  private final Map<String, Long> counts = new ConcurrentHashMap<>();

  MtaStsPolicies(Dns dns, PolicyFetch fetch, MtaStsRepository repo, Clock clock) {
    this.dns = dns;
    this.fetch = fetch;
    this.repo = repo;
    this.clock = clock;
  }

  /** The policy that applies to {@code domain} now, if any (mode "none" included: the caller treats it as none). */
  Optional<Applied> lookup(String domain) {
    Instant now = clock.instant();
    Optional<Applied> cached = cached(domain, now);
    Optional<String> id = switch (dns.txt("_mta-sts." + domain)) {
      case Dns.Answer.Found<String> f -> MtaSts.id(f.values());
      case Dns.Answer.NoSuchDomain<String> n -> Optional.empty();
      case Dns.Answer.Temporary<String> t -> {
        log.info("MTA-STS: {}: {}{}", domain, t.reason(), cached.isPresent() ? "; its cached policy applies" : "");
        yield Optional.empty();
      }
    };
    if (id.isEmpty()) {
      return cached.map(a -> new Applied(a.domain(), a.id(), a.policy(), true, a.expires()));
    }
    if (cached.isPresent() && cached.get().id().equals(id.get())) {
      return Optional.of(new Applied(domain, id.get(), cached.get().policy(), true, cached.get().expires()));
    }
    Failed f = failed.get(domain);
    if (f != null && f.id().equals(id.get()) && now.isBefore(f.at().plus(RETRY_FETCH))) {
      return cached.map(a -> new Applied(a.domain(), a.id(), a.policy(), true, a.expires()));
    }
    String result = "sts-policy-fetch-error";
    String reason;
    try {
      MtaSts.Policy p;
      String text = fetch.fetch(domain);
      result = "sts-policy-invalid";
      p = MtaSts.parse(text);
      Instant expires = now.plusSeconds(p.maxAge());
      Applied a = new Applied(domain, id.get(), p, false, expires);
      remember(domain, Optional.of(a));
      failed.remove(domain);
      if (repo != null) {
        try {
          repo.save(new MtaStsRepository.Stored(domain, id.get(), p.mode().word(), p.mx(), p.maxAge(), now,
              expires));
        } catch (RuntimeException e) {
          log.warn("MTA-STS: {}: the policy could not be stored: {}", domain, e.toString());
        }
      }
      log.info("MTA-STS: {}: policy {} fetched: mode {}, mx {}, max_age {}", domain, id.get(), p.mode().word(),
          p.mx(), p.maxAge());
      return Optional.of(a);
    } catch (PolicyFetch.WebPkiInvalid e) {
      result = "sts-webpki-invalid";
      reason = e.getMessage();
    } catch (IOException e) {
      reason = e.getMessage();
    } catch (MtaSts.Invalid e) {
      reason = "the policy is not valid: " + e.getMessage();
    }
    if (failed.size() >= MEMORY) {
      failed.clear();
    }
    failed.put(domain, new Failed(id.get(), now, reason));
    count(domain, result, "", "");
    log.warn("MTA-STS: {}: policy {} could not be had: {}{}", domain, id.get(), reason,
        cached.isPresent() ? "; the cached policy " + cached.get().id() + " applies until " + cached.get().expires()
            : "; delivering as to a domain without MTA-STS (RFC 8461 §3.3)");
    return cached.map(a -> new Applied(a.domain(), a.id(), a.policy(), true, a.expires()));
  }

  /** Why the last fetch for {@code domain} failed, or null. */
  String lastFailure(String domain) {
    Failed f = failed.get(domain);
    return f == null ? null : f.reason();
  }

  /**
   * The unexpired cached policy of {@code domain}: from memory, else read once from the database (outside the map's
   * lock: two deliveries racing read the same row). The memory holds at most {@link #MEMORY} domains (those with no
   * policy included); beyond, it starts again from the database.
   */
  private Optional<Applied> cached(String domain, Instant now) {
    Optional<Applied> c = cache.get(domain);
    if (c == null) {
      c = Optional.empty();
      if (repo != null) {
        try {
          c = repo.policy(domain).flatMap(MtaStsPolicies::applied);
        } catch (RuntimeException e) {
          log.warn("MTA-STS: {}: the cached policy could not be read: {}", domain, e.toString());
        }
      }
      remember(domain, c);
    }
    if (c.isPresent() && !now.isBefore(c.get().expires())) {
      cache.put(domain, Optional.empty());
      if (repo != null) {
        try {
          repo.delete(domain);
        } catch (RuntimeException e) {
          log.warn("MTA-STS: {}: an expired policy could not be deleted: {}", domain, e.toString());
        }
      }
      return Optional.empty();
    }
    return c;
  }

  private void remember(String domain, Optional<Applied> a) {
    if (cache.size() >= MEMORY && !cache.containsKey(domain)) {
      cache.clear(); // the policies are in the database; without one, in memory only (tests, a CLI process)
      if (repo == null) {
        log.info("MTA-STS: more than {} recipient domains seen: the policies cached in memory are dropped", MEMORY);
      }
    }
    cache.put(domain, a);
  }

  private static Optional<Applied> applied(MtaStsRepository.Stored s) {
    MtaSts.Mode mode;
    try {
      mode = MtaSts.Mode.valueOf(s.mode().toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    return Optional.of(new Applied(s.domain(), s.id(), new MtaSts.Policy(mode, s.mx(), s.maxAge()), true,
        s.expires()));
  }

  /**
   * Counts one session (or failed policy look-up) for the domain's TLS report of today (UTC): {@code result} is
   * "success" or an RFC 8460 §4.3 result type. Never fails a delivery: a database error is logged.
   */
  void count(String domain, String result) {
    LocalDate day = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    if (repo == null) {
      counts.merge(day + "|" + domain + "|" + result, 1L, Long::sum);
      return;
    }
    try {
      repo.count(day, domain, result, 1);
    } catch (RuntimeException e) {
      log.warn("TLS-RPT: {} {} not counted: {}", domain, result, e.toString());
    }
  }

  /**
   * Counts one failed session for the day's report, and its failure detail (RFC 8460 §4.4: the MX host and the
   * address it was with; "" where there is none, e.g. a policy fetch).
   */
  void count(String domain, String result, String mxHost, String receivingIp) {
    count(domain, result);
    if (repo == null) {
      return;
    }
    try {
      repo.countDetail(LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC), domain, result, mxHost, receivingIp, 1);
    } catch (RuntimeException e) {
      log.warn("TLS-RPT: {} {} {} not counted: {}", domain, result, mxHost, e.toString());
    }
  }

  /** The in-memory counts (no repository): "day|domain|result" to sessions. */
  Map<String, Long> memoryCounts() {
    return Map.copyOf(counts);
  }
}
