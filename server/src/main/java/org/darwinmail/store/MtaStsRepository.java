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

  /** Failed sessions of one day, policy domain and result type with one MX host and address ("": not known). */
  record Detail(LocalDate day, String domain, String result, String mxHost, String receivingIp, long sessions) {}

  /** Adds {@code n} failed sessions to a day's detail row (V017; made when missing). */
  void countDetail(LocalDate day, String domain, String result, String mxHost, String receivingIp, long n);

  /** The failure details of one day and policy domain, most sessions first, at most {@code limit}. */
  List<Detail> details(LocalDate day, String domain, int limit);

  /**
   * A TLS report handled (V017): claimed by a node at {@code claimed}; {@code destinations} and {@code result} are
   * empty until it was sent, or say why it was not.
   */
  record Report(LocalDate day, String domain, String reportId, Instant claimed, String node, String destinations,
      String result) {}

  /**
   * Claims the report of {@code day} and {@code domain}: true when this call made the row, false when it was there
   * (another node, or an earlier run, has it). The insert is the claim, so two nodes never both send.
   */
  boolean claimReport(LocalDate day, String domain, String reportId, Instant at, String node);

  /** Records where a claimed report went and how (each text cut to the column's 2,000 characters). */
  void reportDone(LocalDate day, String domain, String destinations, String result);

  /** The reports of {@code since} and later, newest day first, at most 1,000. */
  List<Report> reports(LocalDate since);
}
