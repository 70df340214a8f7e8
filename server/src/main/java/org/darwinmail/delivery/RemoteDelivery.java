package org.darwinmail.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.darwinmail.config.DeliveryConfig;
import org.darwinmail.config.HostPort;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.dns.Dns;
import org.darwinmail.errors.Errors;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Directory;
import org.darwinmail.store.QueueRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The conversation with a remote server for one queued message: routing (smarthost or MX), connecting, EHLO,
 * STARTTLS (RFC 3207), AUTH towards the smarthost (RFC 4954), MAIL/RCPT/DATA with PIPELINING (RFC 2920), and the
 * classification of each reply into delivered, temporary or permanent. It keeps no queue state: {@link
 * DeliveryEngine} schedules, calls {@link #transfer} and records the results. The wire itself is {@link
 * SmtpClient}'s (as mox separates its queue from its delivery).
 */
final class RemoteDelivery {
  private static final Logger log = LoggerFactory.getLogger(RemoteDelivery.class);

  private final ServerConfig config;
  private final DeliveryConfig dc;
  private final BlobStore blobs;
  private final Directory directory;
  private final Dns dns;
  private final Dkim dkim;
  /** TLS towards the smarthost: its certificate is verified (it receives our password). */
  private final javax.net.ssl.SSLSocketFactory smarthostTls;
  /** MTA-STS (RFC 8461) towards MX hosts; null when {@code delivery.mta_sts} is off. */
  private final MtaStsPolicies policies;
  /**
   * The CAs an MX host's or policy host's certificate must chain to ({@code delivery.mta_sts_ca}): read at start
   * when it is a file (a bad one stops the start), the system's trust store at first use (a CLI process that opens
   * the store never needs it).
   */
  private volatile javax.net.ssl.X509ExtendedTrustManager stsTrust;

  /** Signatures of the messages delivered last, by queue entry id ({@link #signature}). */
  private final Map<Long, java.util.Optional<String>> signatures = java.util.Collections.synchronizedMap(
      new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, java.util.Optional<String>> eldest) {
          return size() > 256;
        }
      });

  /** @param stsCache where fetched MTA-STS policies and TLS report counts are kept; null: in memory only */
  RemoteDelivery(ServerConfig config, BlobStore blobs, Directory directory, Dns dns, Dkim dkim,
      org.darwinmail.store.MtaStsRepository stsCache) {
    this.config = config;
    this.dc = config.delivery();
    this.blobs = blobs;
    this.directory = directory;
    this.dns = dns;
    this.dkim = dkim;
    this.smarthostTls = dc.smarthost().isEmpty() ? null : SmtpClient.verifying(dc.smarthostCa());
    if (dc.mtaSts() && dc.smarthost().isEmpty()) {
      this.stsTrust = dc.mtaStsCa().isEmpty() ? null : SmtpClient.trustOf(dc.mtaStsCa());
      this.policies = new MtaStsPolicies(dns, new PolicyFetch(dns, dc.mtaStsPort(),
          () -> SmtpClient.factory(stsTrust())), stsCache, java.time.Clock.systemUTC());
    } else {
      this.policies = null;
    }
  }

  /** The MTA-STS policies and counts, or null (MTA-STS off, or a smarthost). */
  MtaStsPolicies policies() {
    return policies;
  }

  /** A socket factory verifying against the MTA-STS CAs (the name is checked by whoever uses it). */
  javax.net.ssl.SSLSocketFactory stsFactory() {
    return SmtpClient.factory(stsTrust());
  }

  private javax.net.ssl.X509ExtendedTrustManager stsTrust() {
    javax.net.ssl.X509ExtendedTrustManager t = stsTrust;
    if (t == null) {
      t = SmtpClient.trustOf("");
      stsTrust = t;
    }
    return t;
  }

  /**
   * How an MX connection is checked under a recipient domain's MTA-STS policy (RFC 8461 §4, §5): in "enforce" mode
   * a host must match the policy's mx patterns, offer STARTTLS and present a valid certificate for its name, or it
   * is not used (the message waits: never sent in clear text or to an unverified host); in "testing" mode the
   * message goes as it would without the policy and the failure is recorded (the trace, the log, TLS report counts).
   */
  private record Sts(MtaStsPolicies.Applied policy, boolean enforce, boolean mxMatches, SmtpClient.CertCheck cert) {}

  /** A refusal under an "enforce" policy: its message is the whole sentence the queue and the trace show. */
  static final class StsRefused extends SmtpClient.HostException {
    StsRefused(String message) {
      super(message);
    }
  }

  /** RFC 8460 §4.3's result type for a certificate that failed the check, and the same in words. */
  static String[] certProblem(java.security.cert.CertificateException e, String host) {
    for (Throwable x = e; x != null; x = x.getCause()) {
      if (x instanceof java.security.cert.CertificateExpiredException
          || x instanceof java.security.cert.CertificateNotYetValidException) {
        return new String[] {"certificate-expired", "its certificate has expired or is not yet valid"};
      }
    }
    String m = String.valueOf(e.getMessage());
    if (m.contains("No subject alternative") || m.contains("No name matching")) {
      return new String[] {"certificate-host-mismatch", "its certificate does not name " + host};
    }
    return new String[] {"certificate-not-trusted", "its certificate does not chain to a trusted CA"};
  }

  /** The outcome for one recipient of one attempt. */
  record Result(Kind kind, String status, String detail, String remoteMta) {
    enum Kind { DELIVERED, TEMPORARY, PERMANENT }

    static Result of(SmtpClient.Response r, String mta) {
      Kind k = r.code() < 400 ? Kind.DELIVERED : r.code() < 500 ? Kind.TEMPORARY : Kind.PERMANENT;
      return new Result(k, statusOf(r), r.text(), mta);
    }

    static Result temporary(String status, String detail, String mta) {
      return new Result(Kind.TEMPORARY, status, detail, mta);
    }

    static Result permanent(String status, String detail, String mta) {
      return new Result(Kind.PERMANENT, status, detail, mta);
    }
  }

  /** The enhanced status code (RFC 3463) of a reply, or one made from its basic code. */
  static String statusOf(SmtpClient.Response r) {
    String first = r.lines().isEmpty() ? "" : r.lines().getFirst();
    var m = java.util.regex.Pattern.compile("^([245])\\.(\\d{1,3})\\.(\\d{1,3})\\b").matcher(first);
    if (m.find()) {
      return m.group();
    }
    return r.code() < 400 ? "2.0.0" : r.code() < 500 ? "4.0.0" : "5.0.0";
  }

  /** The same result for every recipient of a group. */
  static Map<Long, Result> all(List<QueueRepository.Rcpt> rcpts, Result r) {
    Map<Long, Result> out = new LinkedHashMap<>();
    rcpts.forEach(x -> out.put(x.id(), r));
    return out;
  }


  /** A host to try: its name (for TLS and the DSN) and port. */
  private record Target(String host, int port, boolean smarthost) {}

  /** An open SMTP connection after EHLO (and STARTTLS and AUTH when used), ready for a transaction. */
  record Link(SmtpClient client, String mta, Map<String, String> caps, String stsNote) {}

  /** One message's results, and the connection to keep for the next message to the same destination, or null. */
  record Outcome(Map<Long, Result> results, Link link) {}

  /** Ends a connection politely (QUIT) and returns null. */
  static Link closed(Link link) {
    if (link != null) {
      link.client().quit();
      link.client().close();
    }
    return null;
  }

  /**
   * Delivers one message to the recipients of one destination domain: on {@code reuse} when it is a connection kept
   * open to that destination, else through the smarthost or the domain's MX hosts (RFC 5321 §5.1) in turn.
   */
  Outcome transfer(QueueRepository.Entry m, String domain, List<QueueRepository.Rcpt> rcpts, Link reuse) {
    if (reuse != null) {
      String dkimHeader = signature(m);
      try {
        Outcome o = transaction(reuse, m, rcpts, dkimHeader);
        boolean closing = o.results().values().stream().anyMatch(r -> r.detail() != null
            && r.detail().startsWith("421"))
            && o.results().values().stream().noneMatch(r -> r.kind() == Result.Kind.DELIVERED);
        if (!closing) {
          return o;
        }
        closed(o.link());
        // 421 (RFC 5321 §3.8): the server is closing this connection, say after its own per-connection limit.
        log.info("queue entry {}: {} closed the connection kept from the previous message, opening a new one",
            m.id(), reuse.mta());
      } catch (IOException e) {
        // The server may close a connection between two messages (RFC 5321 §4.1.1.10 lets it): open a new one.
        log.info("queue entry {}: the connection to {} ended ({}), opening a new one", m.id(), reuse.mta(),
            Errors.describe(e));
        reuse.client().close();
      }
    }
    List<Target> targets = new ArrayList<>();
    if (!dc.smarthost().isEmpty()) {
      HostPort hp = HostPort.parse("delivery.smarthost", dc.smarthost());
      targets.add(new Target(hp.host(), hp.port(), true));
    } else {
      switch (dns.route(domain)) {
        case Dns.Route.NullMx n -> {
          return new Outcome(all(rcpts, Result.permanent("5.1.10", "550 5.1.10 " + domain
              + " does not accept mail (null MX, RFC 7505)", null)), null);
        }
        case Dns.Route.NoSuchDomain n -> {
          return new Outcome(all(rcpts, Result.permanent("5.1.2", "550 5.1.2 the domain " + domain
              + " does not exist or has no mail server", null)), null);
        }
        case Dns.Route.Temporary t -> {
          return new Outcome(all(rcpts, Result.temporary("4.4.3", "DNS: " + t.reason(), null)), null);
        }
        case Dns.Route.Hosts h -> h.hosts().forEach(x -> targets.add(new Target(x, dc.port(), false)));
      }
    }
    MtaStsPolicies.Applied policy = null;
    if (policies != null && !TlsReports.isReport(m.sender())) {
      // RFC 8460 §5.3: a report goes out despite TLS failures, and its session is in no report
      policy = policies.lookup(domain).filter(p -> p.policy().mode() != MtaSts.Mode.NONE).orElse(null);
    }
    boolean enforce = policy != null && policy.policy().mode() == MtaSts.Mode.ENFORCE;
    String dkimHeader = signature(m);
    String lastError = "no address for any mail server of " + domain;
    String lastStatus = "4.4.4";
    for (Target t : targets) {
      boolean mxMatches = policy == null || policy.policy().allows(t.host());
      if (!mxMatches && enforce) {
        // RFC 8461 §4.1: an MX host the policy does not name is not used.
        policies.count(domain, "validation-failure", t.host(), "");
        lastError = "MTA-STS enforce: " + t.host() + " is not a mail server the policy of " + domain + " names (mx: "
            + String.join(", ", policy.policy().mx()) + ")";
        lastStatus = "4.7.5";
        log.info("queue entry {}: {}", m.id(), lastError);
        continue;
      }
      List<InetAddress> addrs;
      try {
        addrs = resolve(t);
      } catch (IOException e) {
        lastError = Errors.describe(e);
        continue;
      }
      for (InetAddress a : addrs) {
        Sts sts = policy == null ? null : new Sts(policy, enforce, mxMatches,
            new SmtpClient.CertCheck(stsTrust(), enforce));
        try {
          try {
            return attempt(m, rcpts, t, a, dkimHeader, true, sts);
          } catch (javax.net.ssl.SSLException e) {
            if (t.smarthost()) {
              throw e;
            }
            // Opportunistic TLS (RFC 3207 §4.1, RFC 7435): a failed handshake is retried in clear text; never
            // under an "enforce" policy (open throws StsRefused there, which is no SSLException).
            log.info("queue entry {}: TLS with {} failed ({}), retrying without", m.id(), t.host(), e.getMessage());
            return attempt(m, rcpts, t, a, dkimHeader, false, sts == null ? null
                : new Sts(policy, false, mxMatches, new SmtpClient.CertCheck(stsTrust(), false)));
          }
        } catch (StsRefused e) {
          lastError = e.getMessage();
          lastStatus = "4.7.5";
          log.info("queue entry {}: {}", m.id(), lastError);
        } catch (IOException e) {
          lastError = t.host() + " [" + a.getHostAddress() + "]: " + Errors.describe(e);
          lastStatus = "4.4.1";
          log.info("queue entry {}: {}", m.id(), lastError);
        }
      }
    }
    return new Outcome(all(rcpts, Result.temporary(lastStatus, lastError, null)), null);
  }

  /** A new connection to one address and one transaction on it. */
  private Outcome attempt(QueueRepository.Entry m, List<QueueRepository.Rcpt> rcpts, Target t, InetAddress a, String dkimHeader,
      boolean tls, Sts sts) throws IOException {
    Link link = open(t, a, tls, sts);
    try {
      return transaction(link, m, rcpts, dkimHeader);
    } catch (IOException | RuntimeException e) {
      link.client().close();
      throw e;
    }
  }

  private List<InetAddress> resolve(Target t) throws IOException {
    if (t.host().matches("[0-9.]+") || t.host().contains(":")) {
      return List.of(InetAddress.getByName(t.host()));
    }
    return switch (dns.addresses(t.host())) {
      case Dns.Answer.Found<InetAddress> f when !f.values().isEmpty() -> f.values();
      case Dns.Answer.Found<InetAddress> f -> throw new IOException(t.host() + " has no address");
      case Dns.Answer.NoSuchDomain<InetAddress> n -> throw new IOException(t.host() + " does not exist");
      case Dns.Answer.Temporary<InetAddress> tmp -> throw new IOException(tmp.reason());
    };
  }

  /**
   * The DKIM-Signature for this message, or null (not ours, signing off, or a failure: then unsigned). A message
   * going to several destinations is signed once (an RSA-2048 signature costs about 1.5 ms of CPU here): the
   * latest signatures are kept by queue entry.
   */
  private String signature(QueueRepository.Entry m) {
    if (!dc.dkim()) {
      return null;
    }
    java.util.Optional<String> known = signatures.get(m.id());
    if (known != null) {
      return known.orElse(null);
    }
    try (InputStream in = blobs.open(m.blob())) {
      String header = dkim.sign(in, directory::isLocalDomain);
      signatures.put(m.id(), java.util.Optional.ofNullable(header));
      return header;
    } catch (IOException | RuntimeException e) {
      log.warn("queue entry {}: not DKIM-signed: {}", m.id(), e.toString());
      return null;
    }
  }

  /**
   * Connects to one address and greets it: EHLO, STARTTLS when offered (required towards the smarthost), AUTH
   * towards the smarthost when configured. Throws when this host cannot be used (the next one is tried).
   */
  private Link open(Target t, InetAddress a, boolean tls, Sts sts) throws IOException {
    boolean implicit = t.smarthost() && dc.smarthostTls().equals("implicit");
    Duration connect = Duration.ofSeconds(dc.connectTimeoutSeconds());
    String mta = t.host() + " [" + a.getHostAddress() + "]";
    SmtpClient c;
    try {
      c = SmtpClient.connect(a, t.port(), t.host(), connect, implicit,
          t.smarthost() ? smarthostTls : sts != null ? sts.cert().factory() : SmtpClient.OPPORTUNISTIC);
    } catch (javax.net.ssl.SSLHandshakeException e) {
      throw untrusted(mta, e);
    }
    try {
      SmtpClient.Response greet = c.read(SmtpClient.GREETING_TIMEOUT);
      if (greet.code() != 220) {
        throw new SmtpClient.HostException(mta + " greeted with " + greet.text());
      }
      Map<String, String> caps = c.ehlo(config.hostname());
      if (tls && !c.isTls() && caps.containsKey("STARTTLS")) {
        c.send("STARTTLS");
        c.flush();
        SmtpClient.Response r = c.read(SmtpClient.MAIL_TIMEOUT);
        if (r.code() == 220) {
          try {
            c.startTls();
          } catch (javax.net.ssl.SSLException e) {
            if (sts != null && sts.enforce()) {
              throw stsTlsFailed(sts, t, a, mta, e);
            }
            throw t.smarthost() && e instanceof javax.net.ssl.SSLHandshakeException h ? untrusted(mta, h) : e;
          }
          caps = c.ehlo(config.hostname());
        } else if (t.smarthost()) {
          throw new SmtpClient.HostException(mta + " refused STARTTLS: " + r.text());
        } else if (sts != null && sts.enforce()) {
          policies.count(sts.policy().domain(), "starttls-not-supported", t.host(), a.getHostAddress());
          throw new StsRefused("MTA-STS enforce: " + mta + " refused STARTTLS: " + r.text());
        }
      }
      String stsNote = sts == null ? null : stsVerdict(sts, t, a, mta, c.isTls(),
          caps.containsKey("STARTTLS"));
      if (t.smarthost() && !c.isTls()) {
        throw new SmtpClient.HostException(mta + " does not offer TLS, which the smarthost setting requires");
      }
      if (t.smarthost() && !dc.smarthostUser().isEmpty()) {
        // RFC 4954 with PLAIN (RFC 4616), over TLS only.
        String token = Base64.getEncoder().encodeToString(("\0" + dc.smarthostUser() + "\0" + dc.smarthostPassword())
            .getBytes(StandardCharsets.UTF_8));
        c.send("AUTH PLAIN " + token);
        c.flush();
        SmtpClient.Response r = c.read(SmtpClient.MAIL_TIMEOUT);
        if (r.code() != 235) {
          throw new SmtpClient.HostException(mta + " refused our login: " + r.text());
        }
      }
      return new Link(c, mta, caps, stsNote);
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /**
   * The MTA-STS verdict of a connection that reached EHLO (after STARTTLS when offered): counted for the domain's
   * TLS report; under "enforce" a failure throws {@link StsRefused} (the host is not used); under "testing" it is
   * returned as a note for the trace and the log (null: the session passed).
   */
  private String stsVerdict(Sts sts, Target t, InetAddress a, String mta, boolean tlsUp, boolean offered)
      throws StsRefused {
    String domain = sts.policy().domain();
    String result;
    String words;
    if (!tlsUp && offered) {
      // "testing" only: the handshake failed and this is the clear-text retry of opportunistic TLS
      result = "validation-failure";
      words = "the TLS handshake with " + mta + " failed";
    } else if (!tlsUp) {
      result = "starttls-not-supported";
      words = mta + " does not offer STARTTLS";
    } else if (sts.cert().failure() != null) {
      String[] p = certProblem(sts.cert().failure(), t.host());
      result = p[0];
      words = mta + " has no valid certificate: " + p[1];
    } else if (!sts.mxMatches()) {
      result = "validation-failure";
      words = t.host() + " is not a mail server the policy of " + domain + " names";
    } else {
      policies.count(domain, "success");
      return null;
    }
    policies.count(domain, result, t.host(), a.getHostAddress());
    if (sts.enforce()) {
      throw new StsRefused("MTA-STS enforce: " + words);
    }
    return "MTA-STS testing: " + words + " (delivered anyway)";
  }

  /** A TLS handshake that failed under an "enforce" policy: counted, and the reason in words. */
  private StsRefused stsTlsFailed(Sts sts, Target t, InetAddress a, String mta, javax.net.ssl.SSLException e) {
    if (sts.cert().failure() != null) {
      String[] p = certProblem(sts.cert().failure(), t.host());
      policies.count(sts.policy().domain(), p[0], t.host(), a.getHostAddress());
      return new StsRefused("MTA-STS enforce: " + mta + " has no valid certificate: " + p[1]);
    }
    policies.count(sts.policy().domain(), "validation-failure", t.host(), a.getHostAddress());
    return new StsRefused("MTA-STS enforce: TLS with " + mta + " failed: " + Errors.describe(e));
  }

  /** A smarthost whose certificate does not verify: not used (it would receive our password), with the reason. */
  private static IOException untrusted(String mta, javax.net.ssl.SSLHandshakeException e) {
    return new SmtpClient.HostException(mta + ": its TLS certificate is not trusted (" + e.getMessage()
        + "); delivery.smarthost_ca names a CA or certificate to trust");
  }

  /**
   * One SMTP transaction (RFC 5321 §3.3) on an open connection, with PIPELINING (RFC 2920) when offered. Returns a
   * result per recipient, and the connection when it may carry the next message: the transaction ended with the
   * server's final reply and the server did not announce that it closes (421). Throws when the connection failed.
   */
  private Outcome transaction(Link link, QueueRepository.Entry m, List<QueueRepository.Rcpt> rcpts, String dkimHeader)
      throws IOException {
    SmtpClient c = link.client();
    String mta = link.mta();
    Map<String, String> caps = link.caps();
    if (m.smtputf8() && !caps.containsKey("SMTPUTF8")) {
      return new Outcome(all(rcpts, Result.permanent("5.6.7", "550 5.6.7 " + mta + " does not support SMTPUTF8,"
          + " which this message needs for its international addresses (RFC 6531 §3.2)", mta)), link);
    }
    long size = m.size() + (dkimHeader == null ? 0 : dkimHeader.length());
    long limit = parseLong(caps.get("SIZE"));
    if (limit > 0 && size > limit) {
      return new Outcome(all(rcpts, Result.permanent("5.3.4", "552 5.3.4 the message (" + size + " bytes) is"
          + " larger than " + mta + " accepts (" + limit + " bytes, RFC 1870)", mta)), link);
    }
    StringBuilder mail = new StringBuilder("MAIL FROM:<").append(m.sender()).append(">");
    if (caps.containsKey("SIZE")) {
      mail.append(" SIZE=").append(size);
    }
    if (caps.containsKey("8BITMIME") && eightBit(m)) {
      mail.append(" BODY=8BITMIME");
    }
    if (m.smtputf8()) {
      mail.append(" SMTPUTF8");
    }
    boolean pipelining = caps.containsKey("PIPELINING");
    Map<Long, Result> results = new LinkedHashMap<>();
    c.send(mail.toString());
    SmtpClient.Response mailReply = null;
    if (!pipelining) {
      c.flush();
      mailReply = c.read(SmtpClient.MAIL_TIMEOUT);
      if (!mailReply.positive()) {
        return new Outcome(all(rcpts, Result.of(mailReply, mta)), closed(link));
      }
    }
    List<QueueRepository.Rcpt> accepted = new ArrayList<>();
    for (QueueRepository.Rcpt r : rcpts) {
      c.send("RCPT TO:<" + r.recipient() + ">");
      if (!pipelining) {
        c.flush();
        SmtpClient.Response rr = c.read(SmtpClient.RCPT_TIMEOUT);
        if (rr.positive()) {
          accepted.add(r);
        } else {
          results.put(r.id(), Result.of(rr, mta));
        }
      }
    }
    if (pipelining) {
      c.send("DATA");
      c.flush();
      mailReply = c.read(SmtpClient.MAIL_TIMEOUT);
      for (QueueRepository.Rcpt r : rcpts) {
        SmtpClient.Response rr = c.read(SmtpClient.RCPT_TIMEOUT);
        if (!mailReply.positive()) {
          results.put(r.id(), Result.of(mailReply, mta));
        } else if (rr.positive()) {
          accepted.add(r);
        } else {
          results.put(r.id(), Result.of(rr, mta));
        }
      }
    }
    SmtpClient.Response dataReply;
    if (pipelining) {
      dataReply = c.read(SmtpClient.DATA_TIMEOUT);
    } else if (!accepted.isEmpty()) {
      c.send("DATA");
      c.flush();
      dataReply = c.read(SmtpClient.DATA_TIMEOUT);
    } else {
      dataReply = null;
    }
    if (accepted.isEmpty()) {
      if (dataReply != null && dataReply.code() == 354) {
        c.raw().write(".\r\n".getBytes(StandardCharsets.US_ASCII)); // RFC 2920 §3.1: send an empty message
        c.flush();
        c.read(SmtpClient.FINAL_TIMEOUT);
      }
      return new Outcome(results, closed(link));
    }
    if (dataReply.code() != 354) {
      for (QueueRepository.Rcpt r : accepted) {
        results.put(r.id(), Result.of(dataReply, mta));
      }
      return new Outcome(results, closed(link));
    }
    sendBody(c, m, dkimHeader);
    SmtpClient.Response fin = c.read(SmtpClient.FINAL_TIMEOUT);
    for (QueueRepository.Rcpt r : accepted) {
      Result res = Result.of(fin, mta);
      if (link.stsNote() != null && res.kind() == Result.Kind.DELIVERED) {
        res = new Result(res.kind(), res.status(), res.detail() + " (" + link.stsNote() + ")", mta);
      }
      results.put(r.id(), res);
    }
    return new Outcome(results, fin.code() == 421 ? closed(link) : link);
  }

  private static long parseLong(String s) {
    if (s == null || s.isEmpty() || s.length() > 18 || !s.chars().allMatch(Character::isDigit)) {
      return 0;
    }
    return Long.parseLong(s);
  }

  private boolean eightBit(QueueRepository.Entry m) {
    try (InputStream in = blobs.open(m.blob())) {
      byte[] buf = new byte[64 * 1024];
      int n;
      while ((n = in.read(buf)) > 0) {
        for (int i = 0; i < n; i++) {
          if (buf[i] < 0) {
            return true;
          }
        }
      }
    } catch (IOException e) {
      return true;
    }
    return false;
  }

  /** The message with dot-stuffing (RFC 5321 §4.5.2), CRLF line ends, then "." (§4.1.1.4). */
  private void sendBody(SmtpClient c, QueueRepository.Entry m, String dkimHeader) throws IOException {
    OutputStream out = c.raw();
    InputStream head = new java.io.ByteArrayInputStream(dkimHeader == null ? new byte[0]
        : dkimHeader.getBytes(StandardCharsets.UTF_8));
    try (InputStream in = new SequenceInputStream(head, blobs.open(m.blob()))) {
      byte[] buf = new byte[64 * 1024];
      boolean lineStart = true;
      int prev = -1;
      int n;
      while ((n = in.read(buf)) > 0) {
        for (int i = 0; i < n; i++) {
          byte b = buf[i];
          if (lineStart && b == '.') {
            out.write('.');
          }
          if (b == '\n' && prev != '\r') {
            out.write('\r');
          }
          out.write(b);
          lineStart = b == '\n';
          prev = b;
        }
      }
      if (!lineStart) {
        out.write('\r');
        out.write('\n');
      }
    }
    out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
    c.flush();
  }}
