package org.darwinmail.delivery;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;
import org.darwinmail.dns.Dns;
import org.darwinmail.store.Addresses;
import org.darwinmail.store.MtaStsRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * The daily TLS reports (RFC 8460) of the sessions counted under MTA-STS policies ({@link MtaStsPolicies}): once a
 * day, a few minutes after 00:00 UTC, and at start for the days not yet reported (at most {@link #DAYS_BACK} back),
 * for each policy domain with counts of the day before: its {@code _smtp._tls} TXT record through the server's
 * resolver (§3, {@link #rua}), the JSON report (§4), gzip'd, to at most {@link #MAX_RUA} of its addresses: mailto
 * through the outbound queue as a multipart/report (§5.3; DKIM-signed there like all mail of a local domain), https
 * POSTed directly (§5.4, {@link PolicyFetch#post}). A report is claimed by inserting its row
 * ({@link MtaStsRepository#claimReport}) before anything is sent: another node, or a restart, sends it not again.
 */
public final class TlsReports implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TlsReports.class);
  /** The local part of the reports' envelope sender and From: (of the primary domain); see {@link #isReport}. */
  static final String LOCAL_PART = "noreply-tlsrpt";
  /** Days before today still reported when missed (the server was down at midnight). */
  static final int DAYS_BACK = 3;
  /** Report URIs honoured per domain, at most. */
  static final int MAX_RUA = 2;
  /** A TLSRPT record longer than this is refused (real ones are under 200 characters). */
  static final int MAX_RECORD = 2048;
  /** failure-details entries per report, at most (the most frequent). */
  static final int MAX_DETAILS = 100;
  private static final Pattern EXT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
  private static final Pattern EXT_VALUE = Pattern.compile("[\\x21-\\x3a\\x3c\\x3e-\\x7e]+");
  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final String hostname;
  private final String organization;
  private final Dns dns;
  private final MtaStsRepository repo;
  private final Acceptance acceptance;
  private final PolicyFetch https;
  private final String node;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private volatile Thread thread;

  TlsReports(String hostname, String organization, Dns dns, MtaStsRepository repo, Acceptance acceptance,
      PolicyFetch https, String node, Clock clock) {
    this.hostname = hostname;
    this.organization = organization.isEmpty() ? hostname : organization;
    this.dns = dns;
    this.repo = repo;
    this.acceptance = acceptance;
    this.https = https;
    this.node = node;
    this.clock = clock;
  }

  /** The same job on another clock (tests: the day after the deliveries). */
  public TlsReports at(Clock c) {
    return new TlsReports(hostname, organization, dns, repo, acceptance, https, node, c);
  }

  /** Whether a queued message is a TLS report (its envelope sender): delivered without MTA-STS, never counted. */
  static boolean isReport(String sender) {
    return sender != null && sender.regionMatches(true, 0, LOCAL_PART + "@", 0, LOCAL_PART.length() + 1);
  }

  /** Starts the daily run on a virtual thread: first a minute after start, then after each 00:00 UTC. */
  public void start() {
    thread = Thread.ofVirtual().name("tls-reports").start(() -> {
      try {
        Thread.sleep(Duration.ofSeconds(30 + random.nextInt(60)));
        while (!Thread.currentThread().isInterrupted()) {
          try {
            runDue();
          } catch (RuntimeException e) {
            log.warn("TLS-RPT: the daily reports failed: {}", e.toString());
          }
          // after midnight UTC, with 1 to 15 minutes of jitter so that nodes and servers spread out
          Instant next = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC).plusDays(1).atStartOfDay()
              .toInstant(ZoneOffset.UTC).plusSeconds(60 + random.nextInt(14 * 60));
          Thread.sleep(Duration.between(clock.instant(), next).plusSeconds(1));
        }
      } catch (InterruptedException e) {
        // closed
      }
    });
  }

  @Override
  public void close() {
    Thread t = thread;
    if (t != null) {
      t.interrupt();
    }
  }

  /**
   * Reports every day from {@link #DAYS_BACK} days ago to yesterday (UTC, by this job's clock) and policy domain
   * that has counts and no report row yet. Returns the reports this call handled (sent, or not sent and why).
   */
  public List<MtaStsRepository.Report> runDue() {
    LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    LocalDate from = today.minusDays(DAYS_BACK);
    Set<String> done = new HashSet<>();
    for (MtaStsRepository.Report r : repo.reports(from)) {
      done.add(r.day() + "|" + r.domain());
    }
    Map<String, List<MtaStsRepository.Count>> byDay = new TreeMap<>();
    for (MtaStsRepository.Count c : repo.counts(from)) {
      if (c.day().isBefore(today) && !done.contains(c.day() + "|" + c.domain())) {
        byDay.computeIfAbsent(c.day() + "|" + c.domain(), k -> new ArrayList<>()).add(c);
      }
    }
    List<MtaStsRepository.Report> out = new ArrayList<>();
    for (List<MtaStsRepository.Count> counts : byDay.values()) {
      MtaStsRepository.Report r = report(counts.getFirst().day(), counts.getFirst().domain(), counts);
      if (r != null) {
        out.add(r);
      }
    }
    return out;
  }

  /** Where a report goes: a mail address or an https URI. */
  record Destination(String uri, String mailbox, URI https) {}

  /** Why a domain gets no report, in words for the log and {@code darwinmail mta-sts}. */
  static final class NoReport extends Exception {
    NoReport(String message) {
      super(message);
    }
  }

  /**
   * RFC 8460 §3: the report destinations of a domain's TXT records. Records not beginning with "v=TLSRPTv1" are
   * discarded; if the number left is not one there is no report ("senders MUST assume the recipient domain does not
   * implement TLSRPT"). Strict: a record that does not follow the grammar, has no or two rua fields, or is longer
   * than {@link #MAX_RECORD}, gives none. Of its URIs the first {@link #MAX_RUA} mailto: and https: ones are kept.
   *
   * <pre>
   * tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
   * field-delim = *WSP ";" *WSP;  tlsrpt-field = tlsrpt-rua / tlsrpt-extension
   * tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
   * tlsrpt-extension = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") "=" 1*(%x21-3A / %x3C / %x3E-7E)
   * </pre>
   */
  static List<Destination> rua(List<String> txts) throws NoReport {
    List<String> ours = txts.stream().filter(t -> t.startsWith("v=TLSRPTv1")).toList();
    if (ours.isEmpty()) {
      throw new NoReport("no v=TLSRPTv1 record");
    }
    if (ours.size() > 1) {
      throw new NoReport(ours.size() + " v=TLSRPTv1 records (RFC 8460 §3: one)");
    }
    String rec = ours.getFirst();
    if (rec.length() > MAX_RECORD) {
      throw new NoReport("the record is longer than " + MAX_RECORD + " characters");
    }
    String[] fields = rec.split(";", -1);
    if (!fields[0].stripTrailing().equals("v=TLSRPTv1")) {
      throw new NoReport("the record does not begin with \"v=TLSRPTv1;\"");
    }
    String rua = null;
    for (int i = 1; i < fields.length; i++) {
      String f = fields[i].strip();
      if (f.isEmpty()) {
        if (i == fields.length - 1 && i > 1) {
          continue; // the optional trailing ";"
        }
        throw new NoReport("an empty field");
      }
      if (f.startsWith("rua=")) {
        if (rua != null) {
          throw new NoReport("two rua fields");
        }
        rua = f.substring(4);
        continue;
      }
      int eq = f.indexOf('=');
      if (eq <= 0 || !EXT_NAME.matcher(f.substring(0, eq)).matches()
          || !EXT_VALUE.matcher(f.substring(eq + 1)).matches()) {
        throw new NoReport("a malformed field \"" + shorten(f) + "\"");
      }
    }
    if (rua == null) {
      throw new NoReport("no rua field");
    }
    List<Destination> out = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (String u : rua.split(",", -1)) {
      String uri = u.strip();
      if (uri.isEmpty() || uri.chars().anyMatch(c -> c <= 0x20 || c >= 0x7f)) {
        throw new NoReport("a malformed rua URI \"" + shorten(uri) + "\"");
      }
      if (out.size() >= MAX_RUA) {
        continue;
      }
      URI parsed;
      try {
        parsed = new URI(uri);
      } catch (URISyntaxException e) {
        throw new NoReport("a malformed rua URI \"" + shorten(uri) + "\"");
      }
      String scheme = parsed.getScheme() == null ? "" : parsed.getScheme().toLowerCase(Locale.ROOT);
      if (scheme.equals("mailto")) {
        String addr = parsed.getSchemeSpecificPart();
        int q = addr.indexOf('?');
        try {
          addr = Addresses.validAddress(q >= 0 ? addr.substring(0, q) : addr);
        } catch (org.darwinmail.store.RefusedException e) {
          throw new NoReport("the rua address \"" + shorten(uri) + "\" is not a mail address");
        }
        out.add(new Destination(uri, addr, null));
      } else if (scheme.equals("https") && parsed.getHost() != null && parsed.getRawUserInfo() == null) {
        out.add(new Destination(uri, null, parsed));
      } else {
        skipped.add(shorten(uri));
      }
    }
    if (out.isEmpty()) {
      throw new NoReport("no mailto: or https: rua URI (" + String.join(", ", skipped) + ")");
    }
    return out;
  }

  private static String shorten(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }

  /**
   * One domain's report of one day: looked up, claimed, built and sent; null when the look-up failed for now (a
   * DNS error: the next run tries again) or another node claimed it.
   */
  MtaStsRepository.Report report(LocalDate day, String domain, List<MtaStsRepository.Count> counts) {
    List<String> txts = switch (dns.txt("_smtp._tls." + domain)) {
      case Dns.Answer.Found<String> f -> f.values();
      case Dns.Answer.NoSuchDomain<String> n -> List.of();
      case Dns.Answer.Temporary<String> t -> {
        log.info("TLS-RPT: {} of {}: _smtp._tls.{}: {}; tried again at the next run", domain, day, domain,
            t.reason());
        yield null;
      }
    };
    if (txts == null) {
      return null;
    }
    List<Destination> to;
    String why = null;
    try {
      to = rua(txts);
    } catch (NoReport e) {
      to = List.of();
      why = e.getMessage();
    }
    String postmaster = acceptance.postmaster();
    String primary = postmaster.substring(postmaster.indexOf('@') + 1);
    String unique = HexFormat.of().formatHex(bytes(8));
    String reportId = day + "." + unique + "@" + primary;
    Instant now = clock.instant();
    if (!repo.claimReport(day, domain, reportId, now, node)) {
      return null; // another node (or an earlier run) has it
    }
    if (why != null) {
      log.info("TLS-RPT: no report for {} of {}: _smtp._tls.{}: {}", domain, day, domain, why);
      String result = "not sent: " + why;
      repo.reportDone(day, domain, "", result);
      return new MtaStsRepository.Report(day, domain, reportId, now, node, "", result);
    }
    byte[] gz = gzip(json(day, domain, counts, reportId, postmaster));
    long begin = day.atStartOfDay().toEpochSecond(ZoneOffset.UTC);
    // RFC 8460 §5.3: sender "!" policy-domain "!" begin-timestamp "!" end-timestamp [ "!" unique-id ] "." extension
    String filename = primary + "!" + domain + "!" + begin + "!" + (begin + 86_399) + "!" + unique + ".json.gz";
    List<String> where = new ArrayList<>();
    List<String> results = new ArrayList<>();
    for (Destination d : to) {
      where.add(d.uri());
      results.add(d.mailbox() != null ? mail(d.mailbox(), day, domain, primary, reportId, filename, gz, counts)
          : post(d.https(), gz));
    }
    String result = String.join("; ", results);
    repo.reportDone(day, domain, String.join(", ", where), result);
    log.info("TLS-RPT: report {} for {} of {}: {}", reportId, domain, day, result);
    return new MtaStsRepository.Report(day, domain, reportId, now, node, String.join(", ", where), result);
  }

  private byte[] bytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** RFC 8460 §4: the JSON report of one policy domain and day. */
  byte[] json(LocalDate day, String domain, List<MtaStsRepository.Count> counts, String reportId,
      String contact) {
    long success = 0;
    long failure = 0;
    Map<String, Long> failures = new TreeMap<>();
    for (MtaStsRepository.Count c : counts) {
      if (c.result().equals("success")) {
        success += c.sessions();
      } else {
        failure += c.sessions();
        failures.merge(c.result(), c.sessions(), Long::sum);
      }
    }
    List<Map<String, Object>> details = new ArrayList<>();
    for (MtaStsRepository.Detail d : repo.details(day, domain, MAX_DETAILS)) {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("result-type", d.result());
      if (!d.mxHost().isEmpty()) {
        f.put("receiving-mx-hostname", d.mxHost());
      }
      if (!d.receivingIp().isEmpty()) {
        f.put("receiving-ip", d.receivingIp());
      }
      f.put("failed-session-count", d.sessions());
      details.add(f);
      failures.computeIfPresent(d.result(), (k, v) -> v - d.sessions());
    }
    // failures counted without their details (before schema 17, or beyond MAX_DETAILS): by result type alone
    failures.forEach((result, left) -> {
      if (left > 0 && details.size() < MAX_DETAILS + 20) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("result-type", result);
        f.put("failed-session-count", left);
        details.add(f);
      }
    });
    Map<String, Object> policy = new LinkedHashMap<>();
    java.util.Optional<MtaStsRepository.Stored> stored = repo.policy(domain);
    if (stored.isPresent()) {
      MtaStsRepository.Stored s = stored.get();
      List<String> lines = new ArrayList<>(List.of("version: STSv1", "mode: " + s.mode()));
      s.mx().forEach(m -> lines.add("mx: " + m));
      lines.add("max_age: " + s.maxAge());
      policy.put("policy-type", "sts");
      policy.put("policy-string", lines);
      policy.put("policy-domain", domain);
      policy.put("mx-host", s.mx());
    } else {
      policy.put("policy-type", "no-policy-found"); // only failed fetches that day, or the policy expired since
      policy.put("policy-domain", domain);
    }
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("total-successful-session-count", success);
    summary.put("total-failure-session-count", failure);
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("policy", policy);
    entry.put("summary", summary);
    if (!details.isEmpty()) {
      entry.put("failure-details", details);
    }
    Map<String, Object> range = new LinkedHashMap<>();
    range.put("start-datetime", day + "T00:00:00Z");
    range.put("end-datetime", day + "T23:59:59Z");
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("organization-name", organization);
    report.put("date-range", range);
    report.put("contact-info", contact);
    report.put("report-id", reportId);
    report.put("policies", List.of(entry));
    return JSON.writeValueAsBytes(report);
  }

  private static byte[] gzip(byte[] data) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    } catch (IOException e) {
      throw new IllegalStateException(e); // cannot happen writing to memory
    }
    return out.toByteArray();
  }

  /**
   * RFC 8460 §5.3: the report by mail, queued like any message the server writes (retries, the trace, DKIM-signed
   * for the primary domain when delivered). From the primary domain's {@link #LOCAL_PART}; a report that cannot be
   * delivered bounces to that address, which has no mailbox: a report never makes mail about itself.
   */
  private String mail(String to, LocalDate day, String domain, String primary, String reportId, String filename,
      byte[] gz, List<MtaStsRepository.Count> counts) {
    String from = LOCAL_PART + "@" + primary;
    String boundary = "tlsrpt-" + HexFormat.of().formatHex(bytes(12));
    long ok = counts.stream().filter(c -> c.result().equals("success")).mapToLong(MtaStsRepository.Count::sessions)
        .sum();
    long failed = counts.stream().filter(c -> !c.result().equals("success"))
        .mapToLong(MtaStsRepository.Count::sessions).sum();
    String date = ZonedDateTime.ofInstant(clock.instant(), ZoneOffset.UTC).format(DateTimeFormatter.RFC_1123_DATE_TIME);
    StringBuilder m = new StringBuilder();
    m.append("From: <").append(from).append(">\r\n")
        .append("To: <").append(to).append(">\r\n")
        .append("Date: ").append(date).append("\r\n")
        .append("Subject: Report Domain: ").append(domain).append(" Submitter: ").append(primary)
        .append(" Report-ID: <").append(reportId).append(">\r\n")
        .append("Message-ID: <").append(reportId).append(">\r\n")
        .append("TLS-Report-Domain: ").append(domain).append("\r\n")
        .append("TLS-Report-Submitter: ").append(primary).append("\r\n")
        .append("Auto-Submitted: auto-generated\r\n")
        .append("MIME-Version: 1.0\r\n")
        .append("Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"").append(boundary)
        .append("\"\r\n\r\n")
        .append("This is a multipart/report message (RFC 8460).\r\n\r\n")
        .append("--").append(boundary).append("\r\n")
        .append("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
        .append("This is an aggregate TLS report (RFC 8460) from ")
        .append(organization.replaceAll("[^\\x20-\\x7e]", "?"))
        .append(" about the SMTP TLS sessions\r\nto the mail servers of ").append(domain).append(" on ").append(day)
        .append(" (UTC): ").append(ok).append(" successful, ").append(failed).append(" failed.\r\n")
        .append("The report is attached as gzip'd JSON.\r\n\r\n")
        .append("--").append(boundary).append("\r\n")
        .append("Content-Type: application/tlsrpt+gzip\r\n")
        .append("Content-Transfer-Encoding: base64\r\n")
        .append("Content-Disposition: attachment;\r\n\tfilename=\"").append(filename).append("\"\r\n\r\n")
        .append(Base64.getMimeEncoder().encodeToString(gz)).append("\r\n\r\n")
        .append("--").append(boundary).append("--\r\n");
    try {
      Acceptance.Receipt r = acceptance.submit(from, List.of(to), m.toString().getBytes(StandardCharsets.UTF_8),
          false);
      return r.none() ? "mailto:" + to + " not queued (no queue runs here)"
          : "mailto:" + to + (r.queued() > 0 ? " queued" : " delivered locally");
    } catch (IOException e) {
      return "mailto:" + to + " not queued: " + org.darwinmail.errors.Errors.describe(e);
    } catch (RuntimeException e) {
      return "mailto:" + to + " not queued: " + e.getMessage();
    }
  }

  /** RFC 8460 §5.4: the report POSTed; a 2xx answer is a report received (no retry otherwise, yet). */
  private String post(URI uri, byte[] gz) {
    try {
      int status = https.post(uri, gz);
      return uri + (status / 100 == 2 ? " HTTP " + status : " refused: HTTP " + status);
    } catch (IOException e) {
      return uri + " failed: " + e.getMessage();
    }
  }
}
