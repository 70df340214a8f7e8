package org.darwinmail.admin.web;

import io.netty.handler.codec.http.QueryStringDecoder;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.darwinmail.DarwinMail;
import org.darwinmail.guard.LoginGuard;
import org.darwinmail.guard.SendGuard;
import org.darwinmail.store.QueueRepository;
import org.darwinmail.store.SenderRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * The console's operations pages after the directory: the dashboard ({@link Dashboard}), the outbound queue
 * ({@link ConsoleQueue}), blocked senders and locked-out logins (here), the delivery trace ({@link ConsoleTrace}),
 * outbound MTA-STS ({@link ConsoleMtaSts}).
 * {@link Api} routes to these methods after its session, CSRF and cross-site checks; each state-changing method
 * logs who did what. Everything goes through the server's own services (the delivery engine, the abuse guard, the
 * login guard): no SQL here.
 */
final class Console {
  private static final Logger log = LoggerFactory.getLogger(Console.class);
  /** The pages, by path, and their files (served by {@link StaticFiles}). */
  static final Map<String, String> PAGES = Map.of("/console/dashboard", "dashboard.html", "/console/queue",
      "queue.html", "/console/senders", "senders.html", "/console/trace", "trace.html", "/console/dns", "dns.html",
      "/console/mta-sts", "mta-sts.html");

  final Dashboard dashboard;
  final ConsoleQueue queue;
  final ConsoleTrace trace;
  final ConsoleMtaSts mtaSts;
  private final History history;
  private final SendGuard sends;
  private final LoginGuard logins;
  private final QueueRepository queueRows;
  private final DomainDns dns;
  private final org.darwinmail.store.Directory directory;

  Console(DarwinMail mail, java.util.function.ToIntFunction<String> webPorts, Duration historyStep,
      org.darwinmail.admin.tls.Acme acme, org.darwinmail.admin.tls.AcmeRenewal renewal, DomainDns dns,
      java.util.function.Supplier<String> tlsChoice) {
    var s = mail.services();
    this.history = new History(io.micrometer.core.instrument.Metrics.globalRegistry, historyStep,
        Clock.systemUTC()).start();
    this.sends = s.guard().sends();
    this.logins = s.logins();
    this.queueRows = s.queue();
    this.dns = dns;
    this.directory = s.directory();
    this.dashboard = new Dashboard(mail, webPorts, history, acme, renewal, tlsChoice);
    this.queue = new ConsoleQueue(s.queue(), mail.delivery(), sends);
    this.trace = new ConsoleTrace(s.queue(), mail.delivery(), s.blobs(), s.trace().repository(),
        mail.config().delivery());
    this.mtaSts = new ConsoleMtaSts(mail.delivery().mtaSts(), Clock.systemUTC());
  }

  void close() {
    history.close();
  }

  // ---- request helpers --------------------------------------------------------------------------------------

  /** One query parameter, stripped; "" when absent. Bounded like every field. */
  static String param(Request r, String name) {
    if (r.query() == null) {
      return "";
    }
    List<String> v = new QueryStringDecoder(r.query(), false).parameters().get(name);
    String s = v == null || v.isEmpty() ? "" : v.getFirst().strip();
    if (s.length() > 320) {
      throw new Api.BadRequest(422, name + " is too long");
    }
    return s;
  }

  static JsonNode body(Request r) {
    String type = r.header("Content-Type");
    if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
      throw new Api.BadRequest(415, "send application/json");
    }
    try {
      JsonNode n = Response.JSON.readTree(r.body());
      if (n == null || !n.isObject()) {
        throw new Api.BadRequest(400, "the body is a JSON object");
      }
      return n;
    } catch (JacksonException e) {
      throw new Api.BadRequest(400, "the body is not valid JSON");
    }
  }

  /** A required string field of a JSON body, at most 320 characters. */
  static String text(JsonNode b, String name) {
    JsonNode v = b.get(name);
    if (v == null || !v.isString() || v.asString().isBlank()) {
      throw new Api.BadRequest(422, "give " + name);
    }
    if (v.asString().length() > 320) {
      throw new Api.BadRequest(422, name + " is too long");
    }
    return v.asString().strip();
  }

  // ---- DNS --------------------------------------------------------------------------------------------------

  /**
   * GET /api/dns: each domain's health (the dashboard's card); GET /api/dns?domain=NAME: that domain's records to
   * publish, each with its live status (the DNS page). A name that is not one of the server's domains is 404.
   */
  Response dns(Request r) {
    String domain = param(r, "domain").toLowerCase(Locale.ROOT);
    List<String> domains = directory.domains();
    if (domain.isEmpty()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("hostname", dns.hostname());
      m.put("address", dns.address());
      m.put("total", domains.size());
      m.put("domains", dns.health(domains));
      return Response.json(200, m);
    }
    if (domains.stream().noneMatch(d -> d.equalsIgnoreCase(domain))) {
      return Response.error(404, "no such domain: " + domain);
    }
    Map<String, Object> m = dns.records(domain);
    return Response.json(200, m);
  }

  // ---- blocked senders and locked-out logins ----------------------------------------------------------------

  /** GET /api/senders: the blocks in force with the mail each holds, and the logins locked out now. */
  Response senders() {
    Map<String, List<Map<String, Object>>> held = new LinkedHashMap<>();
    for (var e : queueRows.list().entrySet()) {
      QueueRepository.Entry m = e.getKey();
      if (m.account() != null && sends.held(m.account())) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("id", m.id());
        h.put("created", m.created().toString());
        h.put("size", m.size());
        h.put("recipients", e.getValue().stream().map(QueueRepository.Rcpt::recipient).toList());
        held.computeIfAbsent(m.account().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(h);
      }
    }
    List<Map<String, Object>> blocked = new ArrayList<>();
    for (SenderRepository.Block b : sends.blocked()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("account", b.account());
      m.put("since", b.since().toString());
      m.put("reason", b.reason());
      m.put("messages", b.messages());
      m.put("recipients", b.recipients());
      m.put("windowSeconds", b.windowSeconds());
      m.put("held", held.getOrDefault(b.account(), List.of()));
      blocked.add(m);
    }
    List<Map<String, Object>> locks = new ArrayList<>();
    for (LoginGuard.Lock l : logins.locks()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("key", l.key());
      m.put("kind", l.kind());
      m.put("account", l.account());
      m.put("address", l.address());
      m.put("failures", l.failures());
      m.put("lastFailure", l.lastFailure().toString());
      m.put("until", l.until().toString());
      locks.add(m);
    }
    return Response.json(200, Map.of("blocked", blocked, "lockouts", locks));
  }

  /** POST /api/senders/unblock {account, held: release | keep | delete}. */
  Response unblock(Request r, String who) {
    JsonNode b = body(r);
    String account = text(b, "account");
    String what = b.path("held").asString("release");
    SendGuard.HeldMail held = switch (what) {
      case "release" -> SendGuard.HeldMail.RELEASE;
      case "keep" -> SendGuard.HeldMail.KEEP;
      case "delete" -> SendGuard.HeldMail.DELETE;
      default -> throw new Api.BadRequest(422, "held is release, keep or delete");
    };
    SendGuard.Unblocked u = sends.unblock(account, held);
    if (!u.wasBlocked()) {
      return Response.error(404, account + " is not blocked");
    }
    log.info("admin: {} unblocked sender {}; held mail {}: {} message(s)", who, account,
        held == SendGuard.HeldMail.KEEP ? "kept held" : held == SendGuard.HeldMail.DELETE ? "deleted" : "released",
        held == SendGuard.HeldMail.DELETE ? u.deleted() : u.released());
    return Response.json(200, Map.of("unblocked", account, "released", u.released(), "deleted", u.deleted(),
        "kept", held == SendGuard.HeldMail.KEEP));
  }

  /** POST /api/lockouts/unlock {key}: lifts a login lockout. */
  Response unlock(Request r, String who) {
    String key = text(body(r), "key");
    if (!logins.unlock(key)) {
      return Response.error(404, "no such lockout (it may have expired)");
    }
    log.info("admin: {} lifted the login lockout {}", who, key);
    return Response.json(200, Map.of("unlocked", key));
  }
}
