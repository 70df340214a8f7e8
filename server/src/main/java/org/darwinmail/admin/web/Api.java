package org.darwinmail.admin.web;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.darwinmail.admin.settings.Settings;
import org.darwinmail.admin.settings.SettingsEngine;
import org.darwinmail.auth.Passwords;
import org.darwinmail.guard.LoginGuard;
import org.darwinmail.guard.Logins;
import org.darwinmail.store.Account;
import org.darwinmail.store.Directory;
import org.darwinmail.store.RefusedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * The console's routes: pages, the first-run wizard's API, login and the console's JSON API. Security is checked
 * once, here, before any handler: a state-changing request from another site is refused (403) by its {@code Origin}
 * / {@code Sec-Fetch-Site} headers; one that belongs to a session must carry the session's CSRF token (403); an
 * API call without a session answers 401. Until setup is done only the wizard answers; after it the wizard's
 * routes answer 404 for good. Every state-changing request is logged with who made it.
 */
final class Api {
  private static final Logger log = LoggerFactory.getLogger(Api.class);
  static final String CSRF_HEADER = "X-CSRF-Token";
  static final List<String> DEFAULT_ALIASES = List.of("postmaster", "abuse");

  private final Directory directory;
  private final SettingsEngine settings;
  private final AdminAccounts admins;
  private final SetupState setup;
  private final Sessions sessions;
  /** Admin accounts' logins (the console, the metrics' HTTP Basic) and setup-code attempts, keyed by address. */
  private final Logins<AdminAccounts.Admin> adminLogins;
  private final Logins<String> codeLogins;
  private final StaticFiles files = new StaticFiles();
  private final Duration wrongCodeDelay;
  private final Path codeFile;
  private volatile SetupCode code;
  private volatile WizardSteps steps;
  /** The console's operations pages (dashboard, queue, senders, trace); set by AdminWeb when it listens. */
  volatile Console console;

  Api(Directory directory, SettingsEngine settings, AdminAccounts admins, SetupState setup, Sessions sessions,
      LoginGuard guard, Duration wrongCodeDelay, Path codeFile) {
    this.directory = directory;
    this.settings = settings;
    this.admins = admins;
    this.setup = setup;
    this.sessions = sessions;
    // Throttled by the same guard as mail logins (delays doubling per failure per address and per name, then a
    // lockout), through the same attempt.
    this.adminLogins = new Logins<>(guard, "admin:", (name, password) -> admins.find(name)
        .filter(a -> Passwords.verify(password.toCharArray(), a.hash())));
    this.codeLogins = new Logins<>(guard, "setup-code/", (client, typed) -> {
      SetupCode c = code;
      return c != null && c.matches(typed) ? Optional.of(client) : Optional.empty();
    });
    this.wrongCodeDelay = wrongCodeDelay;
    this.codeFile = codeFile;
  }

  /** The wizard's steps 4-7 (network, checks, TLS, DNS records). */
  void steps(WizardSteps s) {
    steps = s;
  }

  boolean setupDone() {
    return setup.done();
  }

  /** A new setup code for this start (only its hash is kept); returns the text to show. */
  String newSetupCode() {
    SetupCode.Fresh f = SetupCode.generate();
    code = f.code();
    return f.display();
  }

  Response handle(Request r) {
    String p = r.path();
    if (p.startsWith("/static/")) {
      if (!r.method().equals("GET") && !r.method().equals("HEAD")) {
        return Response.error(405, "method not allowed");
      }
      Response f = files.get(p.substring("/static/".length()), 200);
      return f == null ? notFound(p) : f;
    }
    if (r.unsafe()) {
      String refusal = crossSite(r);
      if (refusal != null) {
        log.warn("admin: refused a cross-site {} {} from {}: {}", r.method(), p, r.client().getHostAddress(), refusal);
        return Response.error(403, "cross-site request refused");
      }
    }
    if (!p.startsWith("/api/") && !r.method().equals("GET") && !r.method().equals("HEAD")) {
      return Response.error(405, "pages are read with GET").with("Allow", "GET, HEAD");
    }
    if (p.equals("/")) {
      return Response.redirect(setup.done() ? "/console/" : "/setup/");
    }
    boolean wizard = p.equals("/setup") || p.equals("/setup/") || p.startsWith("/api/setup/");
    if (setup.done()) {
      return wizard ? notFound(p) : afterSetup(r);
    }
    if (!wizard) {
      return p.startsWith("/api/") || p.equals("/metrics") ? Response.error(403, "finish setup first: open /setup/")
          : files.get("setup-first.html", 403);
    }
    if (!p.startsWith("/api/")) {
      return files.get("setup.html", 200);
    }
    return wizardApi(r);
  }

  private static Response notFound(String path) {
    return Response.error(404, "no such page: " + path);
  }

  /**
   * Why a state-changing request is refused as cross-site, or null. Browsers send {@code Sec-Fetch-Site} and
   * {@code Origin} with every POST; a request from another origin (another site, or http:// instead of https://)
   * is refused whatever cookie it carries. Clients that send neither (curl) still need a session's CSRF token.
   */
  static String crossSite(Request r) {
    String site = r.header("Sec-Fetch-Site");
    if (site != null && !site.equals("same-origin")) {
      return "Sec-Fetch-Site: " + site;
    }
    String origin = r.header("Origin");
    String host = r.header("Host");
    if (origin != null && (host == null || !origin.equalsIgnoreCase("https://" + host))) {
      return "Origin: " + origin;
    }
    return null;
  }

  private Optional<Sessions.Session> session(Request r) {
    return sessions.find(r.header("Cookie"));
  }

  /** The session a state-changing request needs, with its CSRF token checked; or the refusal. */
  private Object authorised(Request r, boolean wantSetup) {
    Optional<Sessions.Session> s = session(r).filter(x -> x.setup == wantSetup);
    if (s.isEmpty()) {
      return Response.error(401, wantSetup ? "enter the setup code first" : "sign in first");
    }
    if (r.unsafe() && !s.get().csrfMatches(r.header(CSRF_HEADER))) {
      log.warn("admin: refused {} {} from {} for {}: missing or wrong CSRF token", r.method(), r.path(),
          r.client().getHostAddress(), s.get().user);
      return Response.error(403, "missing or wrong CSRF token: reload the page");
    }
    return s.get();
  }

  private static JsonNode body(Request r) {
    String type = r.header("Content-Type");
    if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
      throw new BadRequest(415, "send application/json");
    }
    try {
      JsonNode n = Response.JSON.readTree(r.body());
      if (n == null || !n.isObject()) {
        throw new BadRequest(400, "the body is a JSON object");
      }
      return n;
    } catch (JacksonException e) {
      throw new BadRequest(400, "the body is not valid JSON");
    }
  }

  private static String field(JsonNode n, String name) {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isString()) {
      throw new BadRequest(400, name + " must be a string");
    }
    return v.asString();
  }

  static final class BadRequest extends RuntimeException {
    final int status;

    BadRequest(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  private static Response invalid(String field, String message) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("error", message);
    m.put("field", field);
    return Response.json(422, m);
  }

  // ---- the wizard -------------------------------------------------------------------------------------------

  private Response wizardApi(Request r) {
    try {
      return switch (r.method() + " " + r.path()) {
        case "GET /api/setup/state" -> state(r);
        case "POST /api/setup/code" -> code(r);
        case "POST /api/setup/admin" -> step(r, SetupState.Step.ADMIN);
        case "POST /api/setup/host" -> step(r, SetupState.Step.HOST);
        case "POST /api/setup/mailbox" -> step(r, SetupState.Step.MAILBOX);
        case "POST /api/setup/finish" -> step(r, SetupState.Step.SUMMARY);
        default -> steps != null && WizardSteps.route(r.method(), r.path()) != null ? moreSteps(r) : notFound(r.path());
      };
    } catch (BadRequest e) {
      return Response.error(e.status, e.getMessage());
    }
  }

  private Response moreSteps(Request r) {
    Object a = authorised(r, true);
    if (a instanceof Response refused) {
      return refused;
    }
    return steps.handle(r, r.unsafe() ? body(r) : null, who((Sessions.Session) a, r));
  }

  private Response state(Request r) {
    Optional<Sessions.Session> s = session(r).filter(x -> x.setup);
    Map<String, Object> m = new LinkedHashMap<>();
    if (s.isEmpty()) {
      m.put("step", SetupState.Step.CODE.id());
      return Response.json(200, m);
    }
    Settings st = setup.settings();
    m.put("step", setup.step().id());
    m.put("csrf", s.get().csrf);
    String adminName = setup.admin();
    m.put("admin", adminName == null ? null : admins.find(adminName).map(a -> Map.of("name", a.name(),
        "displayName", a.displayName())).orElse(null));
    m.put("hostname", st.hostname());
    m.put("domain", st.domain());
    m.put("mailbox", st.mailbox());
    m.put("aliases", st.aliases());
    List<String> pending = new ArrayList<>();
    if (st.hostname() != null) {
      pending.add("The host name " + st.hostname() + " is used from the next start of the service.");
    }
    if (steps != null) {
      m.putAll(steps.summary());
      pending.addAll(steps.pending());
    }
    m.put("pending", pending);
    return Response.json(200, m);
  }

  private Response code(Request r) {
    String typed = field(body(r), "code");
    // Keyed by the client's address: one address guessing cannot lock the code for the others (it has about 50
    // bits; the per-address delays and lockout, and the fixed delay below, make guessing hopeless anyway).
    Logins.Answer<String> o = codeLogins.attempt(r.client().getHostAddress(), typed == null ? "" : typed,
        r.client());
    if (o instanceof Logins.Locked) {
      log.warn("admin: setup code attempt from {} refused: too many wrong codes", r.client().getHostAddress());
      return Response.error(429, "too many wrong codes: wait a few minutes");
    }
    if (o instanceof Logins.Failed) {
      log.warn("admin: wrong setup code from {}", r.client().getHostAddress());
      sleep(wrongCodeDelay);
      return invalid("code", "That is not the setup code. It is shown on the appliance's console and in the log.");
    }
    Sessions.Session s = sessions.create("setup", true);
    log.info("admin: setup code accepted from {}", r.client().getHostAddress());
    return Response.json(200, Map.of("step", setup.step().id(), "csrf", s.csrf))
        .with("Set-Cookie", Sessions.cookie(s));
  }

  private Response step(Request r, SetupState.Step which) {
    Object a = authorised(r, true);
    if (a instanceof Response refused) {
      return refused;
    }
    Sessions.Session s = (Sessions.Session) a;
    if (which.ordinal() > setup.step().ordinal()) {
      return Response.error(409, "finish the step before this one first");
    }
    JsonNode body = body(r);
    String who = who(s, r);
    try {
      switch (which) {
        case ADMIN -> {
          String name = field(body, "name");
          String display = field(body, "displayName");
          String password = field(body, "password");
          char[] pw = password == null ? null : password.toCharArray();
          String refusal = AdminAccounts.refusal(name, display, pw);
          if (refusal != null) {
            return invalid(refusal.contains("password") ? "password" : refusal.contains("display") ? "displayName"
                : "name", refusal);
          }
          admins.put(name, display, pw);
          admins.keepOnly(name);
          s.user = name;
          setup.adminDone(name);
          log.info("admin: {} created the admin account {}", who, name);
        }
        case HOST -> {
          String host = field(body, "hostname");
          String domain = field(body, "domain");
          boolean accept = body.path("acceptWarnings").asBoolean(false);
          Settings doc = settings.check(setup.settings().withHost(host, domain));
          List<String> warnings = hostWarnings(doc.hostname());
          if (!warnings.isEmpty() && !accept) {
            return Response.json(200, Map.of("applied", false, "warnings", warnings));
          }
          settings.apply(doc, who);
          setup.hostDone(doc.hostname(), doc.domain());
        }
        case MAILBOX -> {
          String mailbox = field(body, "mailbox");
          String password = field(body, "password");
          Settings doc = settings.check(setup.settings().withMailbox(mailbox,
              password == null ? null : password.toCharArray(), DEFAULT_ALIASES));
          settings.apply(doc, who);
          setup.mailboxDone(doc.mailbox(), doc.aliases());
        }
        case SUMMARY -> {
          return finish(r, s, who);
        }
        default -> {
          return notFound(r.path());
        }
      }
    } catch (SettingsEngine.Invalid e) {
      return invalid(e.field, e.getMessage());
    } catch (RefusedException e) {
      return invalid("", e.getMessage());
    }
    return Response.json(200, Map.of("applied", true, "step", setup.step().id()));
  }

  private Response finish(Request r, Sessions.Session s, String who) {
    String name = setup.admin();
    if (name == null || admins.find(name).isEmpty()) {
      return Response.error(409, "create the admin account first");
    }
    setup.finish();
    code = null;
    try {
      Files.deleteIfExists(codeFile);
    } catch (java.io.IOException e) {
      log.warn("cannot remove {}: {}", codeFile, e.getMessage());
    }
    sessions.removeSetupSessions();
    Sessions.Session admin = sessions.create(name, false);
    log.info("admin: {} finished setup; the setup code and the wizard are gone", who);
    return Response.json(200, Map.of("next", "/console/", "csrf", admin.csrf))
        .with("Set-Cookie", Sessions.cookie(admin));
  }

  /** Warnings about a host name that is valid but will not work for mail: it resolves to a loopback address. */
  static List<String> hostWarnings(String hostname) {
    List<String> w = new ArrayList<>();
    try {
      CompletableFuture<InetAddress[]> lookup = new CompletableFuture<>();
      Thread.ofVirtual().name("admin-resolve").start(() -> {
        try {
          lookup.complete(InetAddress.getAllByName(hostname));
        } catch (java.net.UnknownHostException | RuntimeException e) {
          lookup.complete(new InetAddress[0]);
        }
      });
      InetAddress[] addresses = lookup.get(3, TimeUnit.SECONDS);
      for (InetAddress a : addresses) {
        if (a.isLoopbackAddress()) {
          w.add(hostname + " resolves to " + a.getHostAddress() + " (loopback) on this machine: other mail servers"
              + " cannot reach it by that name. Publish the public address in DNS (and fix /etc/hosts).");
          break;
        }
      }
    } catch (Exception e) {
      // no answer in time: the pre-flight checks (a later step) say more
    }
    return w;
  }

  private static String who(Sessions.Session s, Request r) {
    return (s.setup && s.user.equals("setup") ? "setup session" : "admin " + s.user) + " from "
        + r.client().getHostAddress();
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- after setup ------------------------------------------------------------------------------------------

  private Response afterSetup(Request r) {
    String p = r.path();
    if (r.method().equals("GET") || r.method().equals("HEAD")) {
      switch (p) {
        case "/login", "/login/" -> {
          return files.get("login.html", 200);
        }
        case "/console", "/console/" -> {
          return files.get("console.html", 200);
        }
        case "/console/dashboard", "/console/queue", "/console/senders", "/console/trace", "/console/dns",
            "/console/mta-sts" -> {
          return files.get(Console.PAGES.get(p), 200);
        }
        default -> {
          // the API below
        }
      }
    }
    if (p.equals("/metrics")) {
      return metrics(r);
    }
    if (!p.startsWith("/api/")) {
      return notFound(p);
    }
    try {
      if (p.equals("/api/login") && r.method().equals("POST")) {
        return login(r);
      }
      Object a = authorised(r, false);
      if (a instanceof Response refused) {
        return refused;
      }
      Sessions.Session s = (Sessions.Session) a;
      String who = who(s, r);
      return switch (r.method() + " " + p) {
        case "GET /api/session" -> Response.json(200, Map.of("user", s.user, "displayName",
            admins.find(s.user).map(AdminAccounts.Admin::displayName).orElse(""), "csrf", s.csrf));
        case "POST /api/logout" -> {
          sessions.remove(s);
          log.info("admin: {} signed out", who);
          yield Response.json(200, Map.of("next", "/login")).with("Set-Cookie", Sessions.clearCookie());
        }
        case "GET /api/domains" -> Response.json(200, Map.of("domains", directory.domains()));
        case "GET /api/users" -> {
          List<Map<String, Object>> users = new ArrayList<>();
          for (Account acc : directory.accounts()) {
            users.add(Map.of("address", acc.address(), "quotaBytes", acc.quotaBytes()));
          }
          yield Response.json(200, Map.of("users", users));
        }
        case "GET /api/aliases" -> Response.json(200, Map.of("aliases", directory.aliases()));
        case "GET /api/dashboard" -> console.dashboard.get();
        case "GET /api/queue" -> console.queue.list(r);
        case "POST /api/queue/retry", "POST /api/queue/hold", "POST /api/queue/release", "POST /api/queue/delete",
            "POST /api/queue/bounce" -> console.queue.act(r, who);
        case "GET /api/senders" -> console.senders();
        case "POST /api/senders/unblock" -> console.unblock(r, who);
        case "POST /api/lockouts/unlock" -> console.unlock(r, who);
        case "GET /api/trace" -> console.trace.get(r);
        case "GET /api/dns" -> console.dns(r);
        case "GET /api/mta-sts" -> console.mtaSts.get();
        case "POST /api/domains" -> {
          String name = field(body(r), "name");
          directory.addDomain(required(name, "name"));
          log.info("admin: {} added domain {}", who, name);
          yield Response.json(201, Map.of("added", name));
        }
        case "POST /api/users" -> {
          JsonNode b = body(r);
          String address = required(field(b, "address"), "address");
          String password = required(field(b, "password"), "password");
          if (password.length() < 8 || password.length() > 1024) {
            yield invalid("password", "The password needs 8 to 1024 characters.");
          }
          directory.addAccount(address, password.toCharArray());
          log.info("admin: {} created mailbox {}", who, address);
          yield Response.json(201, Map.of("added", address));
        }
        case "POST /api/aliases" -> {
          JsonNode b = body(r);
          String source = required(field(b, "source"), "source");
          List<String> targets = new ArrayList<>();
          for (String t : required(field(b, "targets"), "targets").split("[,\\s]+")) {
            if (!t.isEmpty()) {
              targets.add(t);
            }
          }
          directory.addAlias(source, targets);
          log.info("admin: {} added alias {} -> {}", who, source, targets);
          yield Response.json(201, Map.of("added", source));
        }
        default -> {
          if (r.method().equals("DELETE")) {
            yield remove(p, who);
          }
          yield notFound(p);
        }
      };
    } catch (BadRequest e) {
      return Response.error(e.status, e.getMessage());
    } catch (RefusedException e) {
      return Response.error(422, e.getMessage());
    }
  }

  private static String required(String value, String name) {
    if (value == null || value.isBlank()) {
      throw new BadRequest(422, "give " + name);
    }
    if (value.length() > 1024) {
      throw new BadRequest(422, name + " is too long");
    }
    return value.strip();
  }

  /** DELETE /api/domains/NAME, /api/users/ADDRESS, /api/aliases/SOURCE (the name percent-decoded). */
  private Response remove(String p, String who) {
    String[] parts = p.split("/", 4);
    if (parts.length != 4 || parts[3].isEmpty()) {
      return notFound(p);
    }
    String name = java.net.URLDecoder.decode(parts[3].replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
    switch (parts[2]) {
      case "domains" -> directory.removeDomain(name);
      case "users" -> directory.removeAccount(name);
      case "aliases" -> directory.removeAlias(name, List.of());
      default -> {
        return notFound(p);
      }
    }
    log.info("admin: {} removed {} {}", who, parts[2].substring(0, parts[2].length() - 1).replace("user", "mailbox"),
        name);
    return Response.json(200, Map.of("removed", name));
  }

  /**
   * The Micrometer registry in the Prometheus text format, for a signed-in session or HTTP Basic credentials of an
   * admin account (what a Prometheus scraper sends), throttled like every login.
   */
  private Response metrics(Request r) {
    boolean allowed = session(r).filter(x -> !x.setup).isPresent();
    String auth = r.header("Authorization");
    if (!allowed && auth != null && auth.regionMatches(true, 0, "Basic ", 0, 6)) {
      String decoded;
      try {
        decoded = new String(java.util.Base64.getDecoder().decode(auth.substring(6).strip()),
            java.nio.charset.StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        decoded = "";
      }
      int colon = decoded.indexOf(':');
      if (colon > 0) {
        String name = decoded.substring(0, colon);
        String password = decoded.substring(colon + 1);
        allowed = adminLogins.attempt(name, password, r.client()) instanceof Logins.Ok;
      }
    }
    if (!allowed) {
      return Response.error(401, "sign in, or send an admin account's credentials (HTTP Basic)")
          .with("WWW-Authenticate", "Basic realm=\"Darwin Mail metrics\", charset=\"UTF-8\"");
    }
    return new Response(200, "text/plain; version=0.0.4; charset=utf-8",
        Metrics.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8),
        new LinkedHashMap<>(Map.of("Cache-Control", "no-store")));
  }

  private Response login(Request r) {
    JsonNode b = body(r);
    String name = field(b, "name");
    String password = field(b, "password");
    if (name == null || password == null || name.length() > 64 || password.length() > 1024) {
      return Response.error(400, "give a name and a password");
    }
    Logins.Answer<AdminAccounts.Admin> o = adminLogins.attempt(name, password, r.client());
    if (o instanceof Logins.Locked) {
      log.warn("admin: login of {} from {} refused: locked after failed attempts", name, r.client().getHostAddress());
      return Response.error(429, "too many failed logins: wait a few minutes");
    }
    if (o instanceof Logins.Failed) {
      log.warn("admin: failed login of {} from {}", name, r.client().getHostAddress());
      return Response.error(401, "wrong name or password");
    }
    Sessions.Session s = sessions.create(name, false);
    log.info("admin: {} signed in from {}", name, r.client().getHostAddress());
    return Response.json(200, Map.of("next", "/console/", "csrf", s.csrf)).with("Set-Cookie", Sessions.cookie(s));
  }
}
