package org.darwinmail.admin.web;

import java.io.InputStream;
import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.darwinmail.admin.tls.Acme;
import org.darwinmail.admin.tls.CertificateUpload;
import org.darwinmail.delivery.Dkim;
import org.darwinmail.dns.Dns;
import org.darwinmail.net.Tls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * The wizard's steps 4-7 over JSON (issue 17): the network as configured (read-only), the pre-flight checks with a
 * re-check each, the TLS certificate (keep, upload, or ACME once the host name points here), and the DNS records
 * to publish with their live status. {@link Api} checks the setup session and the CSRF token before any of these;
 * a step after the current one answers 409. Nothing here blocks finishing: checks and DNS only inform.
 */
final class WizardSteps {
  private static final Logger log = LoggerFactory.getLogger(WizardSteps.class);

  /** What the wiring gives the steps. */
  record Parts(Dns dns, List<String> dnsbls, Tls tls, Acme acme, Dkim dkim, boolean dkimOn,
      Supplier<NetworkInfo> network, Duration probeTimeout, org.darwinmail.config.ListenConfig listen,
      org.darwinmail.config.MtaStsConfig mtaSts) {}

  private final SetupState setup;
  private final Parts parts;
  private final WizardChecks checks;
  private final DomainDns records;

  WizardSteps(SetupState setup, Parts parts) {
    this.setup = setup;
    this.parts = parts;
    this.checks = new WizardChecks(parts.dns(), parts.dnsbls());
    this.records = new DomainDns(new DomainDns.Parts(parts.dns(), parts.dkim(), parts.dkimOn(), parts.listen(),
        parts.mtaSts(), () -> setup.settings().hostname(), this::address));
  }

  /** The step each route belongs to, or null for a route that is not ours. */
  static SetupState.Step route(String method, String path) {
    return switch (method + " " + path) {
      case "GET /api/setup/network", "POST /api/setup/network" -> SetupState.Step.NETWORK;
      case "POST /api/setup/checks", "POST /api/setup/checks/done" -> SetupState.Step.CHECKS;
      case "GET /api/setup/tls", "POST /api/setup/tls/keep", "POST /api/setup/tls/upload",
           "POST /api/setup/tls/acme" -> SetupState.Step.TLS;
      case "GET /api/setup/dns", "POST /api/setup/dns" -> SetupState.Step.DNS;
      default -> null;
    };
  }

  /** One request of ours; {@code body} is null for a GET. */
  Response handle(Request r, JsonNode body, String who) {
    SetupState.Step step = route(r.method(), r.path());
    if (step.ordinal() > setup.step().ordinal()) {
      return Response.error(409, "finish the step before this one first");
    }
    return switch (r.method() + " " + r.path()) {
      case "GET /api/setup/network" -> Response.json(200, network());
      case "POST /api/setup/network", "POST /api/setup/checks/done" -> {
        setup.passed(step);
        yield Response.json(200, Map.of("applied", true, "step", setup.step().id()));
      }
      case "POST /api/setup/checks" -> checks(body);
      case "GET /api/setup/tls" -> Response.json(200, tlsState());
      case "POST /api/setup/tls/keep" -> {
        parts.acme().forget();
        setup.tlsDone("self-signed");
        log.info("admin: {} kept the self-signed certificate", who);
        yield Response.json(200, Map.of("applied", true, "step", setup.step().id()));
      }
      case "POST /api/setup/tls/upload" -> upload(body, who);
      case "POST /api/setup/tls/acme" -> acme(body, who);
      case "GET /api/setup/dns" -> Response.json(200, dns());
      case "POST /api/setup/dns" -> {
        setup.passed(step);
        yield Response.json(200, Map.of("applied", true, "step", setup.step().id()));
      }
      default -> Response.error(404, "no such page: " + r.path());
    };
  }

  /** What the summary (and a reload) shows of these steps. */
  Map<String, Object> summary() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("publicAddress", address());
    m.put("tls", setup.tls());
    m.put("dnsSeen", setup.dnsSeen());
    return m;
  }

  /** What is still to do after these steps, in words. */
  List<String> pending() {
    List<String> p = new ArrayList<>();
    if (setup.tls() == null || setup.tls().equals("self-signed")) {
      p.add("The certificate is self-signed: mail programs warn until one from a CA is installed (console, TLS).");
    }
    String seen = setup.dnsSeen();
    if (seen == null || !seen.matches("(\\d+) of \\1")) {
      p.add("Publish the DNS records of step 7" + (seen == null ? "" : " (" + seen + " seen so far)")
          + "; the console's DNS page shows their status.");
    }
    return p;
  }

  /** The address the A/AAAA record names: the public one the checks were given (behind NAT), else this host's. */
  String address() {
    String a = setup.publicAddress();
    return a != null ? a : parts.network().get().primaryAddress();
  }

  private Map<String, Object> network() {
    NetworkInfo n = parts.network().get();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("interfaces", n.interfaces());
    m.put("gateway", n.gateway());
    m.put("dnsServers", n.dnsServers());
    m.put("search", n.search());
    String primary = n.primaryAddress();
    m.put("address", primary);
    m.put("behindNat", primary == null || NetworkInfo.privateAddress(primary));
    return m;
  }

  private Response checks(JsonNode body) {
    String which = text(body, "check", "all");
    String addr = text(body, "publicAddress", null);
    String probe = text(body, "probe", null);
    if (addr != null && !addr.isBlank()) {
      try {
        NetworkInfo.literal(addr.strip());
      } catch (IllegalArgumentException e) {
        return Response.json(422, Map.of("error", "The public address must be an IP address, like 203.0.113.7.",
            "field", "publicAddress"));
      }
    }
    setup.checkInputs(addr, probe);
    String address = address();
    String hostname = setup.settings().hostname();
    String target = setup.probe() != null ? setup.probe() : WizardChecks.DEFAULT_PROBE;
    List<Map<String, Object>> out = new ArrayList<>();
    for (String id : which.equals("all") ? List.of("forward", "reverse", "port25", "dnsbl") : List.of(which)) {
      WizardChecks.Check c = switch (id) {
        case "forward" -> checks.forward(hostname, address);
        case "reverse" -> checks.reverse(address, hostname);
        case "port25" -> checks.port25(target, parts.probeTimeout());
        case "dnsbl" -> checks.dnsbl(address);
        default -> null;
      };
      if (c == null) {
        return Response.error(400, "no such check: " + id);
      }
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("id", c.id());
      one.put("status", c.status().id());
      one.put("message", c.message());
      out.add(one);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("address", address);
    m.put("probe", target);
    m.put("checks", out);
    return Response.json(200, m);
  }

  private Map<String, Object> tlsState() {
    Map<String, Object> m = new LinkedHashMap<>();
    try (InputStream in = Files.newInputStream(parts.tls().certFile())) {
      X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      m.put("subject", c.getSubjectX500Principal().getName());
      m.put("issuer", c.getIssuerX500Principal().getName());
      m.put("notAfter", c.getNotAfter().toInstant().toString());
      m.put("selfSigned", c.getIssuerX500Principal().equals(c.getSubjectX500Principal()));
    } catch (Exception e) {
      m.put("error", "cannot read the certificate: " + e.getMessage());
    }
    WizardChecks.Check f = checks.forward(setup.settings().hostname(), address());
    m.put("hostname", setup.settings().hostname());
    m.put("acmeAllowed", f.status() == WizardChecks.Status.OK);
    m.put("acmeWhy", f.message());
    m.put("choice", setup.tls());
    return m;
  }

  private Response upload(JsonNode body, String who) {
    CertificateUpload.Result r = CertificateUpload.check(text(body, "certificate", null), text(body, "key", null),
        setup.settings().hostname(), Instant.now());
    if (!r.ok()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("error", String.join(" ", r.problems()));
      m.put("problems", r.problems());
      m.put("warnings", r.warnings());
      return Response.json(422, m);
    }
    try {
      parts.tls().install(r.chainPem(), r.keyPem());
    } catch (RuntimeException e) {
      log.warn("admin: installing the uploaded certificate failed: {}", e.getMessage());
      return Response.error(422, "The certificate passed the checks but does not load: " + e.getMessage());
    }
    parts.acme().forget();
    setup.tlsDone("uploaded: " + r.subject() + ", until " + r.notAfter());
    log.info("admin: {} installed an uploaded certificate for {} until {}", who, r.names(), r.notAfter());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("applied", true);
    m.put("step", setup.step().id());
    m.put("subject", r.subject());
    m.put("notAfter", r.notAfter().toString());
    m.put("warnings", r.warnings());
    return Response.json(200, m);
  }

  private Response acme(JsonNode body, String who) {
    String hostname = setup.settings().hostname();
    WizardChecks.Check f = checks.forward(hostname, address());
    if (f.status() != WizardChecks.Status.OK) {
      return Response.error(409, "ACME needs " + hostname + " to point at this appliance first. " + f.message());
    }
    String email = text(body, "email", "");
    if (email.length() > 254 || !email.isEmpty() && !email.matches("[^@\\s]+@[^@\\s]+\\.[^@\\s]+")) {
      return Response.json(422, Map.of("error", "Give an e-mail address for the CA's notices, or none.",
          "field", "email"));
    }
    String directory = text(body, "directory", Acme.LETS_ENCRYPT);
    if (!directory.startsWith("https://") || directory.length() > 512) {
      return Response.json(422, Map.of("error", "The ACME directory is an https:// address.", "field", "directory"));
    }
    X509Certificate c;
    try {
      c = parts.acme().obtain(directory, hostname, email, parts.tls());
    } catch (Acme.AcmeFailure e) {
      log.warn("admin: ACME order for {} by {} failed: {}", hostname, who, e.getMessage());
      return Response.error(502, e.getMessage());
    }
    setup.tlsDone("ACME: " + c.getIssuerX500Principal().getName() + ", until " + c.getNotAfter().toInstant()
        + ", renewed automatically");
    log.info("admin: {} installed an ACME certificate for {}", who, hostname);
    return Response.json(200, Map.of("applied", true, "step", setup.step().id(), "notAfter",
        c.getNotAfter().toInstant().toString()));
  }

  private Map<String, Object> dns() {
    Map<String, Object> m = records.records(setup.settings().domain());
    @SuppressWarnings("unchecked")
    Map<String, Integer> counts = (Map<String, Integer>) m.remove("counts");
    setup.dnsSeen(counts.get("ok") + " of " + ((List<?>) m.get("records")).size());
    return m;
  }

  private static String text(JsonNode body, String name, String otherwise) {
    JsonNode v = body == null ? null : body.get(name);
    if (v == null || v.isNull()) {
      return otherwise;
    }
    if (!v.isString()) {
      throw new Api.BadRequest(400, name + " must be a string");
    }
    return v.asString();
  }
}
