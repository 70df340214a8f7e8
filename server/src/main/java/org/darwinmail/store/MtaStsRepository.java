package org.darwinmail.store;

import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;

/**
 * Outbound MTA-STS's tables (V016): the policies fetched for recipient domains, kept until they expire (RFC 8461
 * §3.3: a cached, unexpired policy is applied when no live one can be had), and the TLS reporting counts (RFC 8460:
 * sessions per day, policy domain and result type). The meaning is {@code delivery}'s; the SQL is here.
 */
public interface MtaStsRepository {
  /** A stored policy: its id (the TXT record's), mode, mx patterns, max_age and when it was fetched and expires. */
  record Stored(String domain, String id, String mode, List<String> mx, long maxAge, Instant fetched,
      Instant expires) {}

  /** Sessions of one day, policy domain and result type ("success" or an RFC 8460 §4.3 failure type). */
  record Count(LocalDate day, String domain, String result, long sessions) {}

  Optional<Stored> policy(String domain);

  /** Stores (or replaces) the policy of {@code p.domain()}. */
  void save(Stored p);

  void delete(String domain);

  /** Every stored policy, by domain. */
  List<Stored> policies();

  /** Adds {@code n} sessions to a day's count (the row made when missing). */
  void count(LocalDate day, String domain, String result, long n);

  /** The counts of {@code since} and later, by day then domain then result. */
  List<Count> counts(LocalDate since);
}
