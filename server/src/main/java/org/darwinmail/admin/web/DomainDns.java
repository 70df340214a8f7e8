package org.darwinmail.admin.web;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import org.darwinmail.admin.dns.DnsRecords;
import org.darwinmail.admin.dns.MtaStsPolicy;
import org.darwinmail.config.HostPort;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.MtaStsConfig;
import org.darwinmail.delivery.Dkim;
import org.darwinmail.dns.Dns;

/**
 * The DNS records of one mail domain as the wizard's step 7 and the console's DNS page show them: what to publish
 * ({@link DnsRecords#expected}: MX, the host's address, SPF, DKIM when signing is on, DMARC, autoconfig /
 * autodiscover, the SRV records of the client listeners that are on, MTA-STS and TLS-RPT for a domain in
 * {@code [mta_sts] domains}) beside what the server's resolver answers
 * now. The records of every domain are looked up side by side on virtual threads ({@link #MAX_LOOKUPS} at most
 * in flight), so a resolver that does not answer costs a few timeouts, not one per record and domain.
 */
final class DomainDns {
  /** The dashboard checks at most this many domains (the DNS page checks any one). */
  static final int MAX_DOMAINS = 50;

  /** What the records depend on; the host name and the address are read at each request (the wizard sets them). */
  record Parts(Dns dns, Dkim dkim, boolean dkimOn, ListenConfig listen, MtaStsConfig mtaSts,
      Supplier<String> hostname, Supplier<String> address) {}

  /** Lookups in flight at once, over all requests: the dashboard's 50 domains do not flood the resolver. */
  static final int MAX_LOOKUPS = 32;

  private final Parts parts;
  private final Semaphore inFlight = new Semaphore(MAX_LOOKUPS);

  DomainDns(Parts parts) {
    this.parts = parts;
  }

  String hostname() {
    return parts.hostname().get();
  }

  String address() {
    return parts.address().get();
  }

  /** What to publish for {@code domain}. */
  List<DnsRecords.Expected> expected(String domain) {
    List<String[]> dkim = new ArrayList<>();
    if (parts.dkimOn()) {
      for (Dkim.Algorithm a : Dkim.Algorithm.values()) {
        dkim.add(new String[] {parts.dkim().selector(a), parts.dkim().publicRecord(domain, a)});
      }
    }
    MtaStsConfig m = parts.mtaSts();
    // The policy MtaStsWeb serves for this domain, with the host name the MX record names; none while [listen] https
    // is off (nothing would serve it).
    MtaStsPolicy policy = m.publishes(domain) && !parts.listen().https().isEmpty()
        ? new MtaStsPolicy(m.mode(), hostname(), m.maxAge()) : null;
    return DnsRecords.expected(domain, hostname(), address(), dkim, clientPorts(parts.listen()), policy);
  }

  /**
   * The SRV services whose listener is on, with the port mail programs use: the configured one, or the service's
   * standard port when the configuration lets the system choose (port 0, tests).
   */
  static Map<String, Integer> clientPorts(ListenConfig l) {
    Map<String, Integer> m = new LinkedHashMap<>();
    put(m, "submissions", l.submissions(), 465);
    put(m, "submission", l.submission(), 587);
    put(m, "imaps", l.imaps(), 993);
    put(m, "imap", l.imap(), 143);
    put(m, "pop3s", l.pop3s(), 995);
    put(m, "pop3", l.pop3(), 110);
    return m;
  }

  private static void put(Map<String, Integer> m, String service, String address, int standard) {
    if (address == null || address.isEmpty()) {
      return;
    }
    int port = HostPort.parse("listen." + service, address).port();
    m.put(service, port > 0 ? port : standard);
  }

  /** The records of {@code domain} with their live status: {@code domain, hostname, records[], zone, counts}. */
  Map<String, Object> records(String domain) {
    List<DnsRecords.Expected> expected = expected(domain);
    List<Map<String, Object>> rows = new ArrayList<>();
    Map<String, Integer> counts = counts();
    for (DnsRecords.Seen s : checkAll(expected)) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("name", s.record().name());
      row.put("type", s.record().type());
      row.put("value", s.record().value());
      row.put("zone", s.record().name() + ". 3600 IN " + s.record().type() + " " + DnsRecords.rdata(s.record()));
      row.put("purpose", s.record().purpose());
      row.put("status", s.status().id());
      row.put("seen", s.seen());
      row.put("message", s.message());
      rows.add(row);
      counts.merge(s.status().id(), 1, Integer::sum);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("domain", domain);
    m.put("hostname", hostname());
    m.put("address", address());
    m.put("records", rows);
    m.put("zone", DnsRecords.zoneFile(expected));
    m.put("counts", counts);
    return m;
  }

  /**
   * The health of each domain (at most {@link #MAX_DOMAINS}): how many records are ok, missing, wrong or can't be
   * told, the worst of them as {@code status}, and which records are not ok.
   */
  List<Map<String, Object>> health(List<String> domains) {
    List<String> some = domains.size() > MAX_DOMAINS ? domains.subList(0, MAX_DOMAINS) : domains;
    List<Map<String, Object>> out = new ArrayList<>();
    try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Map<String, Object>>> checks = new ArrayList<>();
      for (String d : some) {
        checks.add(ex.submit(() -> records(d)));
      }
      for (Future<Map<String, Object>> f : checks) {
        Map<String, Object> r = f.get();
        @SuppressWarnings("unchecked")
        Map<String, Integer> counts = (Map<String, Integer>) r.get("counts");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) r.get("records");
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("domain", r.get("domain"));
        h.put("status", worst(counts));
        h.put("counts", counts);
        h.put("total", rows.size());
        h.put("problems", rows.stream().filter(x -> !"ok".equals(x.get("status")))
            .map(x -> Map.of("name", x.get("name"), "type", x.get("type"), "status", x.get("status"))).toList());
        out.add(h);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while checking DNS", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("DNS check failed: " + e.getCause().getMessage(), e.getCause());
    }
    return out;
  }

  /**
   * Every record looked up at once, one virtual thread each (at most {@link #MAX_LOOKUPS} in flight): a silent
   * resolver costs one timeout, not fourteen.
   */
  private List<DnsRecords.Seen> checkAll(List<DnsRecords.Expected> expected) {
    try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<DnsRecords.Seen>> lookups = new ArrayList<>();
      for (DnsRecords.Expected e : expected) {
        lookups.add(ex.submit(() -> {
          inFlight.acquire();
          try {
            return DnsRecords.check(parts.dns(), e);
          } finally {
            inFlight.release();
          }
        }));
      }
      List<DnsRecords.Seen> out = new ArrayList<>();
      for (Future<DnsRecords.Seen> f : lookups) {
        out.add(f.get());
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while checking DNS", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("DNS check failed: " + e.getCause().getMessage(), e.getCause());
    }
  }

  private static Map<String, Integer> counts() {
    Map<String, Integer> c = new LinkedHashMap<>();
    for (DnsRecords.Status s : DnsRecords.Status.values()) {
      c.put(s.id(), 0);
    }
    return c;
  }

  /** Wrong before missing before can't tell before ok: the card shows the worst. */
  static String worst(Map<String, Integer> counts) {
    for (String s : List.of("wrong", "missing", "unknown")) {
      if (counts.getOrDefault(s, 0) > 0) {
        return s;
      }
    }
    return "ok";
  }
}
