package org.darwinmail.guard;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.PublicKeyRecordRetriever;
import org.apache.james.jdkim.api.Result;
import org.apache.james.jdkim.exceptions.FailException;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.apache.james.jdkim.exceptions.TempFailException;
import org.apache.james.jspf.impl.DNSServiceXBillImpl;
import org.apache.james.jspf.impl.SPF;
import org.darwinmail.config.InboundConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.dns.Dns;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.SimpleResolver;

/**
 * Checks of mail arriving on port 25 (issue 6): SPF of the MAIL FROM (RFC 7208, jSPF), DKIM signatures (RFC 6376,
 * jDKIM), DMARC ({@link Dmarc}), all recorded in one {@code Authentication-Results:} header (RFC 8601) put on top of
 * the message; forged Authentication-Results headers carrying our name are removed (RFC 8601 §5). Optional DNSBL
 * lookups of the client address.
 */
public final class InboundAuth {
  private static final Logger log = LoggerFactory.getLogger(InboundAuth.class);
  private static final int MAX_HEADER_BYTES = 1 << 20;

  private final InboundConfig config;
  private final String hostname;
  private final Dns dns;
  private final SPF spf;
  private final Dmarc dmarc;
  private final Networks trusted;

  public InboundAuth(ServerConfig config) {
    this.config = config.guard().inbound();
    this.hostname = config.hostname();
    this.dns = new Dns(config.dns());
    this.spf = new SPF(new DNSServiceXBillImpl(Dns.resolver(config.dns())));
    this.spf.setTimeOut(config.dns().timeoutSeconds());
    this.dmarc = new Dmarc(dns::txt, PublicSuffixList.get());
    this.trusted = new Networks(this.config.trustedNetworks());
  }

  /** Checks apply to this client (enabled, and the client is not in a trusted network). */
  public boolean applies(InetAddress client) {
    return config.enabled() && !trusted.contains(client);
  }

  // ---- SPF -----------------------------------------------------------------------------------------------------

  /** The SPF verdict (RFC 7208 §2.6) and what was checked: the MAIL FROM domain, or the HELO name for "<>". */
  public record Spf(String result, String domain, String mailFrom) {}

  /** RFC 7208 §4: check_host(ip, domain of MAIL FROM (or HELO when null), sender). */
  public Spf spf(InetAddress client, String helo, String mailFrom) {
    String sender = mailFrom == null || mailFrom.isEmpty() ? "postmaster@" + helo : mailFrom;
    String domain = sender.substring(sender.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT);
    String result;
    try {
      result = spf.checkSPF(client.getHostAddress(), mailFrom == null ? "" : mailFrom, helo).getResult();
    } catch (RuntimeException e) {
      log.warn("SPF check of {} for {} failed: {}", domain, client.getHostAddress(), e.toString());
      result = "temperror";
    }
    return new Spf(result == null || result.isEmpty() ? "none" : result.toLowerCase(Locale.ROOT), domain, sender);
  }

  // ---- DKIM, DMARC and the header ------------------------------------------------------------------------------

  /** The Authentication-Results header to put on top of the message, and the DMARC disposition to apply to it. */
  public record Checked(Dmarc.Verdict dmarc, String header) {
    public boolean reject() {
      return dmarc.disposition() == Dmarc.Policy.REJECT;
    }

    public boolean quarantine() {
      return dmarc.disposition() == Dmarc.Policy.QUARANTINE;
    }
  }

  /**
   * Verifies DKIM and evaluates DMARC on the received message, still in its temporary file (not yet durable: the
   * message is made durable once, with the header, by {@link #withHeader}). The disposition follows
   * {@code dmarc_reject}/{@code dmarc_quarantine}.
   */
  public Checked check(Spf spfResult, Path message) throws IOException {
    // DKIM (RFC 6376 §6): every signature, its own result.
    List<String> dkimParts = new ArrayList<>();
    List<String> dkimPass = new ArrayList<>();
    DKIMVerifier verifier = new DKIMVerifier(new KeyRetriever());
    try (InputStream in = open(message)) {
      verifier.verify(in);
    } catch (FailException e) {
      // the individual results below say which failed and why
    } catch (RuntimeException e) {
      log.info("DKIM verification error: {}", e.toString());
      dkimParts.add("dkim=permerror");
    }
    for (Result r : verifier.getResults()) {
      String d = r.getRecord() == null ? null : String.valueOf(r.getRecord().getDToken());
      String s = r.getRecord() == null ? null : String.valueOf(r.getRecord().getSelector());
      String res = r.isSuccess() ? "pass" : r.getResultType() == Result.Type.TEMPERROR ? "temperror"
          : r.getResultType() == Result.Type.PERMERROR ? "permerror" : "fail";
      if (r.isSuccess() && d != null) {
        dkimPass.add(d);
      }
      dkimParts.add("dkim=" + res + (r.isSuccess() || r.getErrorMessage() == null ? ""
          : " (" + sanitize(r.getErrorMessage()) + ")") + (d == null ? "" : " header.d=" + d)
          + (s == null ? "" : " header.s=" + s));
    }
    if (dkimParts.isEmpty()) {
      dkimParts.add("dkim=none");
    }
    // DMARC (RFC 7489 §6.6) on the RFC5322.From domain.
    List<String> header;
    try (InputStream in = open(message)) {
      header = headerFields(in);
    }
    String fromDomain = fromDomain(header);
    Dmarc.Verdict v = dmarc.evaluate(fromDomain, spfResult.result().equals("pass"), spfResult.domain(), dkimPass);
    Dmarc.Policy disposition = switch (v.disposition()) {
      case REJECT -> switch (config.dmarcReject()) {
        case "reject" -> Dmarc.Policy.REJECT;
        case "quarantine" -> Dmarc.Policy.QUARANTINE;
        default -> Dmarc.Policy.NONE;
      };
      case QUARANTINE -> config.dmarcQuarantine().equals("quarantine") ? Dmarc.Policy.QUARANTINE : Dmarc.Policy.NONE;
      case NONE -> Dmarc.Policy.NONE;
    };
    v = new Dmarc.Verdict(v.result(), v.policy(), disposition, v.fromDomain());
    // RFC 8601 §2.2: authserv-id; then one resinfo per method.
    StringBuilder h = new StringBuilder("Authentication-Results: ").append(hostname);
    h.append(";\r\n\tspf=").append(spfResult.result()).append(" smtp.mailfrom=").append(sanitize(spfResult.mailFrom()));
    for (String p : dkimParts) {
      h.append(";\r\n\t").append(p);
    }
    h.append(";\r\n\tdmarc=").append(v.result());
    if (!v.result().equals("none") && !v.result().equals("permerror") && !v.result().equals("temperror")) {
      h.append(" (p=").append(v.policy().name().toLowerCase(Locale.ROOT)).append(" dis=")
          .append(disposition.name().toLowerCase(Locale.ROOT)).append(")");
    }
    if (fromDomain != null) {
      h.append(" header.from=").append(fromDomain);
    }
    h.append("\r\n");
    return new Checked(v, h.toString());
  }

  private static InputStream open(Path file) throws IOException {
    return new BufferedInputStream(Files.newInputStream(file), 16 * 1024);
  }

  /**
   * Stores the message durably with {@code ours} (Return-Path: and a {@link Checked#header}) on top; the original's
   * Authentication-Results fields naming us are dropped (RFC 8601 §5).
   */
  public BlobRef withHeader(BlobStore blobs, Path message, String ours) throws IOException {
    try (InputStream in = open(message); BlobStore.BlobWriter w = blobs.create()) {
      w.write(ours.getBytes(StandardCharsets.UTF_8)); // a Return-Path: may hold an SMTPUTF8 address
      boolean dropping = false;
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      int c;
      int headerBytes = 0;
      while ((c = in.read()) != -1) {
        line.write(c);
        if (c != '\n' && line.size() < 8192) {
          continue;
        }
        byte[] l = line.toByteArray();
        line.reset();
        headerBytes += l.length;
        String s = new String(l, StandardCharsets.ISO_8859_1);
        boolean end = s.equals("\r\n") || s.equals("\n") || headerBytes > MAX_HEADER_BYTES;
        if (end) {
          w.write(l);
          break;
        }
        boolean continuation = s.startsWith(" ") || s.startsWith("\t");
        if (!continuation) {
          dropping = s.regionMatches(true, 0, "Authentication-Results:", 0, 23) && forgedOurs(s.substring(23));
        }
        if (!dropping) {
          w.write(l);
        }
      }
      if (line.size() > 0) {
        w.write(line.toByteArray());
      }
      in.transferTo(w);
      return w.commit();
    }
  }

  private boolean forgedOurs(String value) {
    String v = value.strip();
    int semi = v.indexOf(';');
    String id = (semi < 0 ? v : v.substring(0, semi)).strip();
    int sp = id.indexOf(' ');
    return (sp < 0 ? id : id.substring(0, sp)).equalsIgnoreCase(hostname);
  }

  /** The header fields of the message, unfolded (bounded). */
  static List<String> headerFields(InputStream in) throws IOException {
    List<String> out = new ArrayList<>();
    StringBuilder cur = null;
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int total = 0;
    int c;
    while ((c = in.read()) != -1 && total < MAX_HEADER_BYTES) {
      total++;
      if (c != '\n') {
        line.write(c);
        continue;
      }
      String s = line.toString(StandardCharsets.UTF_8);
      line.reset();
      if (s.endsWith("\r")) {
        s = s.substring(0, s.length() - 1);
      }
      if (s.isEmpty()) {
        break;
      }
      if ((s.startsWith(" ") || s.startsWith("\t")) && cur != null) {
        cur.append(' ').append(s.strip());
      } else {
        if (cur != null) {
          out.add(cur.toString());
        }
        cur = new StringBuilder(s);
      }
    }
    if (cur != null) {
      out.add(cur.toString());
    }
    return out;
  }

  /** RFC 7489 §6.6.1: the domain of the single From: address; null when there is none, or several. */
  static String fromDomain(List<String> fields) {
    String from = null;
    for (String f : fields) {
      if (f.regionMatches(true, 0, "From:", 0, 5)) {
        if (from != null) {
          return null; // several From: fields
        }
        from = f.substring(5);
      }
    }
    if (from == null) {
      return null;
    }
    // Drop comments and display names: the address is in <...> when there are angle brackets.
    String v = from.replaceAll("\\([^()]*\\)", " ").strip();
    int lt = v.lastIndexOf('<');
    int gt = v.lastIndexOf('>');
    if (lt >= 0 && gt > lt) {
      v = v.substring(lt + 1, gt);
    } else if (v.contains(",")) {
      return null;
    }
    int at = v.lastIndexOf('@');
    if (at < 0 || v.indexOf(',') >= 0) {
      return null;
    }
    String d = v.substring(at + 1).strip().toLowerCase(Locale.ROOT);
    return d.matches("[a-z0-9.-]+") && d.contains(".") ? d : null;
  }

  // ---- DNSBL ---------------------------------------------------------------------------------------------------

  /**
   * The first configured zone listing {@code client} (IPv4; trusted networks are never looked up, see
   * {@link #applies}), or null. 127.255.255.x answers are errors of the list (Spamhaus: a refused resolver).
   */
  public String dnsblListing(InetAddress client) {
    if (config.dnsblZones().isEmpty() || client.getAddress().length != 4) {
      return null;
    }
    byte[] a = client.getAddress();
    String rev = (a[3] & 0xff) + "." + (a[2] & 0xff) + "." + (a[1] & 0xff) + "." + (a[0] & 0xff);
    for (String zone : config.dnsblZones()) {
      Dns.Answer<InetAddress> ans = dns.addresses(rev + "." + zone);
      if (ans instanceof Dns.Answer.Found<InetAddress> f) {
        for (InetAddress r : f.values()) {
          byte[] b = r.getAddress();
          if (b.length != 4 || (b[0] & 0xff) != 127) {
            continue;
          }
          if ((b[1] & 0xff) == 255 && (b[2] & 0xff) == 255) {
            // Spamhaus: 127.255.255.x means "your resolver is refused/abusive", not "listed".
            log.warn("DNSBL {} answered {} for {}: an error of the list (open or public resolver?), ignored",
                zone, r.getHostAddress(), client.getHostAddress());
            continue;
          }
          return zone;
        }
      } else if (ans instanceof Dns.Answer.Temporary<InetAddress> t) {
        log.info("DNSBL {} lookup failed: {}", zone, t.reason());
      }
    }
    return null;
  }

  // ---- helpers -------------------------------------------------------------------------------------------------

  /** jDKIM's key lookup over our resolver: TXT at selector._domainkey.domain (RFC 6376 §3.6.2). */
  private final class KeyRetriever implements PublicKeyRecordRetriever {
    @Override
    public List<String> getRecords(CharSequence methodAndOptions, CharSequence selector, CharSequence token)
        throws TempFailException, PermFailException {
      if (!"dns/txt".equalsIgnoreCase(methodAndOptions.toString())) {
        throw new PermFailException("Only dns/txt is supported: " + methodAndOptions);
      }
      String name = selector + "._domainkey." + token;
      return switch (dns.txt(name)) {
        case Dns.Answer.Found<String> f -> {
          if (f.values().isEmpty()) {
            throw new PermFailException("no key for signature at " + name);
          }
          yield f.values();
        }
        case Dns.Answer.NoSuchDomain<String> n -> throw new PermFailException("no key for signature at " + name);
        case Dns.Answer.Temporary<String> t -> throw new TempFailException(t.reason());
      };
    }
  }

  private static String sanitize(String s) {
    String t = s.replaceAll("[^\\x21-\\x7e]", "_").replace(";", "_").replace("(", "_").replace(")", "_");
    return t.length() > 200 ? t.substring(0, 200) : t;
  }
}
