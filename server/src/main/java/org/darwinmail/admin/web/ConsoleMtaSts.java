package org.darwinmail.admin.web;

import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.darwinmail.store.MtaStsRepository;

/**
 * GET /api/mta-sts: outbound MTA-STS as delivery sees it, read-only (what {@code darwinmail mta-sts} prints): the
 * recipient domains' policies cached (RFC 8461 §3.3: domain, id, mode, mx patterns, when fetched and when they
 * expire) and the TLS reporting counts (RFC 8460 §4: sessions per UTC day, policy domain and result type) of the
 * last {@link #DAYS} days, today included, and the TLS reports of those days (V017: day, domain, report id, where it
 * went and how, or why it was not sent). Everything goes through {@link MtaStsRepository}; no SQL here.
 */
final class ConsoleMtaSts {
  /** Days of counts shown, today included (the CLI's default). */
  static final int DAYS = 7;

  private final MtaStsRepository repo;
  private final Clock clock;

  ConsoleMtaSts(MtaStsRepository repo, Clock clock) {
    this.repo = repo;
    this.clock = clock;
  }

  Response get() {
    List<Map<String, Object>> policies = new ArrayList<>();
    for (MtaStsRepository.Stored p : repo.policies()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("domain", p.domain());
      m.put("id", p.id());
      m.put("mode", p.mode());
      m.put("mx", p.mx());
      m.put("maxAge", p.maxAge());
      m.put("fetched", p.fetched().toString());
      m.put("expires", p.expires().toString());
      m.put("expired", !p.expires().isAfter(clock.instant()));
      policies.add(m);
    }
    LocalDate since = LocalDate.now(clock.withZone(ZoneOffset.UTC)).minusDays(DAYS - 1L);
    List<Map<String, Object>> counts = new ArrayList<>();
    for (MtaStsRepository.Count c : repo.counts(since)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("day", c.day().toString());
      m.put("domain", c.domain());
      m.put("result", c.result());
      m.put("sessions", c.sessions());
      counts.add(m);
    }
    List<Map<String, Object>> reports = new ArrayList<>();
    for (MtaStsRepository.Report r : repo.reports(since)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("day", r.day().toString());
      m.put("domain", r.domain());
      m.put("reportId", r.reportId());
      m.put("destinations", r.destinations());
      m.put("result", r.result());
      m.put("claimed", r.claimed().toString());
      reports.add(m);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("days", DAYS);
    out.put("since", since.toString());
    out.put("policies", policies);
    out.put("counts", counts);
    out.put("reports", reports);
    return Response.json(200, out);
  }
}
