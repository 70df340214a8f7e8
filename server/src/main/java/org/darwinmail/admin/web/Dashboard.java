package org.darwinmail.admin.web;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.tls.Acme;
import org.darwinmail.admin.tls.AcmeRenewal;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.store.Account;

/**
 * GET /api/dashboard: the state of the server at a glance: its listeners, the queue, blocked senders and locked
 * logins, the certificate (expiry, source, ACME renewal), the last scheduled backup, the data disk, the mailboxes'
 * quota use, and the day's mail from {@link History}. The domains' DNS health is {@code GET /api/dns} (it waits for
 * DNS answers; the dashboard asks for it separately so that the rest shows at once).
 */
final class Dashboard {
  /** Mailboxes listed by quota use, the fullest first. */
  static final int MAX_USERS = 200;

  private final DarwinMail mail;
  /** The ports of the admin web's own listeners ("admin", "https"), -1 when off. */
  private final java.util.function.ToIntFunction<String> webPorts;
  private final History history;
  private final Acme acme;
  private final AcmeRenewal renewal;
  private final java.util.function.Supplier<String> tlsChoice;

  /** {@code tlsChoice}: what the wizard's TLS step did ("self-signed", "uploaded: ...", "ACME: ..."), or null. */
  Dashboard(DarwinMail mail, java.util.function.ToIntFunction<String> webPorts, History history, Acme acme,
      AcmeRenewal renewal, java.util.function.Supplier<String> tlsChoice) {
    this.tlsChoice = tlsChoice;
    this.mail = mail;
    this.webPorts = webPorts;
    this.history = history;
    this.acme = acme;
    this.renewal = renewal;
  }

  Response get() {
    var s = mail.services();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("hostname", mail.config().hostname());
    m.put("listeners", listeners());
    m.put("queueRecipients", s.queue().size());
    m.put("blockedSenders", s.guard().sends().blocked().size());
    m.put("lockedLogins", s.logins().locks().size());
    m.put("certificate", certificateCard());
    m.put("backup", backup());
    m.put("mtaSts", mtaSts(s.delivery().mtaSts()));
    m.put("disk", disk(mail.config().dataDir()));
    m.put("users", users());
    m.put("history", history.view());
    return Response.json(200, m);
  }

  /**
   * The MTA-STS card: policies cached, and the last full UTC day's TLS sessions under a policy (failed, in all) and
   * TLS reports made; null when the store keeps none (MTA-STS state in memory only).
   */
  private static Map<String, Object> mtaSts(org.darwinmail.store.MtaStsRepository repo) {
    if (repo == null) {
      return null;
    }
    java.time.LocalDate day = java.time.LocalDate.now(java.time.ZoneOffset.UTC).minusDays(1);
    long failed = 0;
    long sessions = 0;
    for (var c : repo.counts(day)) {
      if (c.day().equals(day)) {
        sessions += c.sessions();
        failed += c.result().equals("success") ? 0 : c.sessions();
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("policies", repo.policies().size());
    m.put("day", day.toString());
    m.put("sessions", sessions);
    m.put("failed", failed);
    m.put("reports", repo.reports(day).stream().filter(r -> r.day().equals(day)).count());
    return m;
  }

  private List<Map<String, Object>> listeners() {
    ListenConfig l = mail.config().listen();
    Map<String, String> configured = new LinkedHashMap<>();
    configured.put("smtp", l.smtp());
    configured.put("submission", l.submission());
    configured.put("submissions", l.submissions());
    configured.put("imap", l.imap());
    configured.put("imaps", l.imaps());
    configured.put("pop3", l.pop3());
    configured.put("pop3s", l.pop3s());
    configured.put("admin", l.admin());
    configured.put("https", l.https());
    List<Map<String, Object>> out = new ArrayList<>();
    for (var e : configured.entrySet()) {
      boolean web = e.getKey().equals("admin") || e.getKey().equals("https");
      int port = web ? webPorts.applyAsInt(e.getKey()) : mail.port(e.getKey());
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("name", e.getKey());
      x.put("address", e.getValue());
      x.put("port", port);
      x.put("state", e.getValue().isEmpty() ? "off" : port > 0 ? "up" : "down");
      out.add(x);
    }
    return out;
  }

  /**
   * The certificate with where it came from ({@code source}): ACME when an ACME order is recorded (the wizard forgets
   * it when another certificate is installed) and the served certificate is not self-signed; uploaded when the
   * wizard installed an uploaded one (self-signed or not) or the certificate is signed by a CA; else self-signed
   * (the one the server made). For ACME, the renewal's plan.
   */
  private Map<String, Object> certificateCard() {
    Map<String, Object> c = certificate(mail.tls() == null ? null : mail.tls().certFile());
    if (c.containsKey("error")) {
      return c;
    }
    boolean selfSigned = (Boolean) c.get("selfSigned");
    AcmeRenewal.Plan plan = renewal == null || selfSigned ? null : renewal.plan();
    boolean fromAcme = !selfSigned && (plan != null || acme != null && acme.ordered() != null);
    String choice = tlsChoice.get();
    c.put("source", fromAcme ? "ACME" : !selfSigned || choice != null && choice.startsWith("uploaded") ? "uploaded"
        : "self-signed");
    if (plan != null) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("hostname", plan.hostname());
      r.put("directory", plan.directory());
      r.put("renewsFrom", plan.renewsFrom() == null ? null : plan.renewsFrom().toString());
      r.put("nextCheck", plan.nextCheck() == null ? null : plan.nextCheck().toString());
      r.put("lastFailure", plan.lastFailure());
      c.put("renewal", r);
    }
    return c;
  }

  /**
   * The last scheduled backup ({@code store.BackupScheduler}, what {@code darwinmail backup status --json} prints):
   * {@code schedule}, {@code next}, and {@code last} (when, size, verified or the error), null when none ran.
   */
  private Object backup() {
    var b = mail.backups();
    if (b == null) {
      return null;
    }
    return Response.JSON.readTree(b.json());
  }

  /** The first certificate of the PEM file: subject, issuer, expiry, days left; or the error reading it. */
  static Map<String, Object> certificate(Path pem) {
    Map<String, Object> c = new LinkedHashMap<>();
    if (pem == null) {
      c.put("error", "no certificate loaded");
      return c;
    }
    try (InputStream in = Files.newInputStream(pem)) {
      X509Certificate x = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      Instant end = x.getNotAfter().toInstant();
      c.put("subject", x.getSubjectX500Principal().getName());
      c.put("issuer", x.getIssuerX500Principal().getName());
      c.put("selfSigned", x.getSubjectX500Principal().equals(x.getIssuerX500Principal()));
      c.put("notAfter", end.toString());
      c.put("daysLeft", Duration.between(Instant.now(), end).toDays());
      c.put("fingerprint", AdminWeb.fingerprint(pem));
    } catch (Exception e) {
      c.put("error", "cannot read " + pem.getFileName() + ": " + e.getMessage());
    }
    return c;
  }

  static Map<String, Object> disk(Path dataDir) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("path", dataDir.toString());
    try {
      FileStore fs = Files.getFileStore(dataDir);
      long total = fs.getTotalSpace();
      long free = fs.getUsableSpace();
      d.put("totalBytes", total);
      d.put("freeBytes", free);
      d.put("usedPercent", total == 0 ? 0 : Math.round(1000.0 * (total - free) / total) / 10.0);
    } catch (IOException e) {
      d.put("error", e.getMessage());
    }
    return d;
  }

  private Map<String, Object> users() {
    var s = mail.services();
    List<Map<String, Object>> rows = new ArrayList<>();
    List<Account> accounts = s.directory().accounts();
    for (Account a : accounts) {
      long used = s.mail().usage(a.id());
      Map<String, Object> u = new LinkedHashMap<>();
      u.put("address", a.address());
      u.put("usedBytes", used);
      u.put("quotaBytes", a.quotaBytes());
      u.put("usedPercent", a.quotaBytes() <= 0 ? null : Math.round(1000.0 * used / a.quotaBytes()) / 10.0);
      rows.add(u);
    }
    rows.sort(Comparator.comparingLong((Map<String, Object> u) -> (Long) u.get("usedBytes")).reversed());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("count", accounts.size());
    m.put("list", rows.size() > MAX_USERS ? rows.subList(0, MAX_USERS) : rows);
    return m;
  }
}
