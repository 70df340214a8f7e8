package org.darwinmail.admin.dns;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.darwinmail.dns.Dns;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Type;

/**
 * The DNS records a mail domain needs (wizard step 7 and the console's domain page), each with what the server's
 * resolver ({@code [dns] servers}) sees now: the MX (RFC 5321 §5.1), the host's A/AAAA, SPF (RFC 7208), DKIM
 * (RFC 6376 §3.6.2.2, the server's own keys), DMARC (RFC 7489 §6.1), the autoconfig / autodiscover names and the
 * SRV records (RFC 6186 §3, RFC 8314 §5.1) mail programs look up, and for a domain publishing MTA-STS
 * ({@code [mta_sts]}) the policy's TXT record (RFC 8461 §3.1), the {@code mta-sts} host that serves it (§3.3) and
 * the TLS-RPT record (RFC 8460 §3). Propagation never blocks anything: a record not seen yet is "missing", an
 * unanswered lookup "can't tell".
 */
public final class DnsRecords {
  /** One record to publish; {@code name} is the full owner name, {@code value} as in a zone file's RDATA. */
  public record Expected(String name, String type, String value, String purpose) {}

  public enum Status {
    OK, MISSING, WRONG, UNKNOWN;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** An expected record beside what DNS answers. */
  public record Seen(Expected record, Status status, List<String> seen, String message) {}

  private DnsRecords() {}

  /**
   * What to publish for {@code domain} served by {@code hostname} at {@code address} (null: no address record is
   * listed). {@code dkim} holds the TXT values of the DKIM keys, by selector, in order.
   */
  public static List<Expected> expected(String domain, String hostname, String address,
      List<String[]> dkimSelectorAndValue) {
    return expected(domain, hostname, address, dkimSelectorAndValue, Map.of());
  }

  /**
   * RFC 6186 §3.1 / RFC 8314 §5.1: the SRV services mail programs look for, in the order listed (implicit TLS
   * first); each is published only when its listener is on.
   */
  public static final List<String> CLIENT_SERVICES = List.of("submissions", "submission", "imaps", "imap",
      "pop3s", "pop3");

  /**
   * {@link #expected(String, String, String, List)} and, for each of {@link #CLIENT_SERVICES} present in
   * {@code clientPorts} (service to port), its SRV record pointing at the host (RFC 2782: priority 0, weight 1).
   */
  public static List<Expected> expected(String domain, String hostname, String address,
      List<String[]> dkimSelectorAndValue, Map<String, Integer> clientPorts) {
    return expected(domain, hostname, address, dkimSelectorAndValue, clientPorts, null);
  }

  /**
   * As above, and when {@code mtaSts} is not null (the domain publishes that policy): {@code _mta-sts} TXT with the
   * policy's id (RFC 8461 §3.1), {@code mta-sts} as a CNAME to the host, which serves the policy over HTTPS
   * (§3.3), and {@code _smtp._tls} TXT asking for TLS reports to the domain's postmaster (RFC 8460 §3).
   */
  public static List<Expected> expected(String domain, String hostname, String address,
      List<String[]> dkimSelectorAndValue, Map<String, Integer> clientPorts, MtaStsPolicy mtaSts) {
    String d = domain.toLowerCase(Locale.ROOT);
    String h = hostname.toLowerCase(Locale.ROOT);
    List<Expected> out = new ArrayList<>();
    out.add(new Expected(d, "MX", "10 " + h + ".", "Mail for " + d + " goes to this server."));
    if (address != null) {
      out.add(new Expected(h, address.contains(":") ? "AAAA" : "A", address, "This server's address."));
    }
    out.add(new Expected(d, "TXT", "v=spf1 mx -all", "SPF: only the domain's MX hosts send its mail."));
    for (String[] kv : dkimSelectorAndValue) {
      out.add(new Expected(kv[0] + "._domainkey." + d, "TXT", kv[1], "DKIM: the key that signs outgoing mail."));
    }
    out.add(new Expected("_dmarc." + d, "TXT", "v=DMARC1; p=quarantine; rua=mailto:postmaster@" + d,
        "DMARC: what receivers do with mail failing SPF and DKIM, and where they report."));
    out.add(new Expected("autoconfig." + d, "CNAME", h + ".", "Thunderbird and others find the settings."));
    out.add(new Expected("autodiscover." + d, "CNAME", h + ".", "Outlook finds the settings."));
    for (String service : CLIENT_SERVICES) {
      Integer port = clientPorts.get(service);
      if (port != null) {
        out.add(new Expected("_" + service + "._tcp." + d, "SRV", "0 1 " + port + " " + h + ".",
            "Mail programs find the " + service + " service (RFC 6186)."));
      }
    }
    if (mtaSts != null) {
      out.add(new Expected("_mta-sts." + d, "TXT", mtaSts.record(),
          "MTA-STS: senders fetch the policy (mode " + mtaSts.mode() + ") when this id changes."));
      out.add(new Expected("mta-sts." + d, "CNAME", h + ".",
          "MTA-STS: the policy is served over HTTPS at https://mta-sts." + d + "/.well-known/mta-sts.txt."));
      out.add(new Expected("_smtp._tls." + d, "TXT", "v=TLSRPTv1; rua=mailto:postmaster@" + d,
          "TLS-RPT: where senders report TLS failures (RFC 8460)."));
    }
    return List.copyOf(out);
  }

  /** Each expected record with what the resolver answers now. */
  public static List<Seen> check(Dns dns, List<Expected> records) {
    List<Seen> out = new ArrayList<>();
    for (Expected e : records) {
      out.add(check(dns, e));
    }
    return out;
  }

  /** One expected record with what the resolver answers now. */
  public static Seen check(Dns dns, Expected e) {
    return switch (e.type()) {
      case "MX" -> compare(e, mapped(dns.query(e.name(), Type.MX, MXRecord.class),
          r -> r.getPriority() + " " + r.getTarget().toString().toLowerCase(Locale.ROOT)), (want, got) ->
          got.split(" ", 2)[1].equals(want.split(" ", 2)[1]));
      case "A", "AAAA" -> compare(e, mapped(dns.addresses(e.name()), InetAddress::getHostAddress),
          (want, got) -> literal(want).equals(literal(got)));
      case "CNAME" -> cname(dns, e);
      // RFC 2782: priority and weight are the publisher's choice; the port and the target must be ours
      case "SRV" -> compare(e, mapped(dns.query(e.name(), Type.SRV, SRVRecord.class), r -> r.getPriority() + " "
          + r.getWeight() + " " + r.getPort() + " " + r.getTarget().toString().toLowerCase(Locale.ROOT)),
          (want, got) -> got.split(" ", 3)[2].equals(want.split(" ", 3)[2]));
      case "TXT" -> txt(dns, e);
      default -> new Seen(e, Status.UNKNOWN, List.of(), "Not checked.");
    };
  }

  /** A CNAME, or address records that are the host's own (some DNS hosts flatten CNAMEs). */
  private static Seen cname(Dns dns, Expected e) {
    Dns.Answer<String> c = mapped(dns.query(e.name(), Type.CNAME, CNAMERecord.class),
        r -> r.getTarget().toString().toLowerCase(Locale.ROOT));
    if (c instanceof Dns.Answer.Found<String> f && f.values().isEmpty()) {
      Dns.Answer<InetAddress> mine = dns.addresses(e.value());
      Dns.Answer<InetAddress> theirs = dns.addresses(e.name());
      if (mine instanceof Dns.Answer.Found<InetAddress> m && theirs instanceof Dns.Answer.Found<InetAddress> t
          && !t.values().isEmpty() && m.values().containsAll(t.values())) {
        return new Seen(e, Status.OK, t.values().stream().map(InetAddress::getHostAddress).toList(),
            "Points at the same address as " + e.value());
      }
    }
    return compare(e, c, String::equals);
  }

  /**
   * TXT: only the strings of the record's kind count (v=spf1 at the domain, v=DMARC1, v=DKIM1, v=STSv1,
   * v=TLSRPTv1).
   */
  private static Seen txt(Dns dns, Expected e) {
    String kind = e.value().split("[;\\s]", 2)[0].toLowerCase(Locale.ROOT);
    Dns.Answer<String> all = dns.txt(e.name());
    Dns.Answer<String> ofKind = all instanceof Dns.Answer.Found<String> f
        ? new Dns.Answer.Found<>(f.values().stream().filter(v -> v.toLowerCase(Locale.ROOT).startsWith(kind)).toList())
        : all;
    return compare(e, ofKind, (want, got) -> {
      if (kind.equals("v=spf1")) {
        return spfCovers(got);
      }
      if (kind.equals("v=dkim1")) {
        return tag(got, "p").equals(tag(want, "p"));
      }
      if (kind.equals("v=stsv1")) {
        return tag(got, "id").equals(tag(want, "id")); // RFC 8461 §3.1: another id, senders keep an old policy
      }
      if (kind.equals("v=tlsrptv1")) {
        return !tag(got, "rua").isEmpty(); // RFC 8460 §3: any report address is the publisher's choice
      }
      return !tag(got, "p").isEmpty(); // DMARC: any policy is a policy; the value shown is a suggestion
    });
  }

  /** Does an SPF record let the MX hosts send ("mx" or "a:"/"include:" terms are read as covering them)? */
  static boolean spfCovers(String spf) {
    for (String term : spf.toLowerCase(Locale.ROOT).split("\\s+")) {
      String t = term.replaceFirst("^[+]", "");
      if (t.equals("mx") || t.startsWith("mx:") || t.startsWith("a:") || t.equals("a") || t.startsWith("ip4:")
          || t.startsWith("ip6:") || t.startsWith("include:")) {
        return true;
      }
    }
    return false;
  }

  static String tag(String record, String name) {
    for (String part : record.split(";")) {
      String[] kv = part.strip().split("=", 2);
      if (kv.length == 2 && kv[0].strip().equalsIgnoreCase(name)) {
        return kv[1].replaceAll("\\s+", "");
      }
    }
    return "";
  }

  private static <R, T> Dns.Answer<T> mapped(Dns.Answer<R> a, java.util.function.Function<R, T> f) {
    return switch (a) {
      case Dns.Answer.Found<R> x -> new Dns.Answer.Found<>(x.values().stream().map(f).toList());
      case Dns.Answer.NoSuchDomain<R> x -> new Dns.Answer.NoSuchDomain<>();
      case Dns.Answer.Temporary<R> x -> new Dns.Answer.Temporary<>(x.reason());
    };
  }

  private static Seen compare(Expected e, Dns.Answer<String> a,
      java.util.function.BiPredicate<String, String> same) {
    return switch (a) {
      case Dns.Answer.Temporary<String> t -> new Seen(e, Status.UNKNOWN, List.of(), "Can't tell: " + t.reason());
      case Dns.Answer.NoSuchDomain<String> n -> new Seen(e, Status.MISSING, List.of(), e.name() + " does not exist yet.");
      case Dns.Answer.Found<String> f when f.values().isEmpty() -> new Seen(e, Status.MISSING, List.of(),
          "No " + e.type() + " record at " + e.name() + " yet.");
      case Dns.Answer.Found<String> f -> f.values().stream().anyMatch(v -> same.test(e.value(), v))
          ? new Seen(e, Status.OK, f.values(), "Published.")
          : new Seen(e, Status.WRONG, f.values(), "Expected " + e.value() + ", seen " + String.join(" | ", f.values()));
    };
  }

  /** The records as zone-file lines (RFC 1035 §5.1), TXT values split into quoted strings of at most 255 bytes. */
  public static String zoneFile(List<Expected> records) {
    StringBuilder b = new StringBuilder();
    for (Expected e : records) {
      b.append(e.name()).append(". 3600 IN ").append(e.type()).append(' ').append(rdata(e)).append('\n');
    }
    return b.toString();
  }

  public static String rdata(Expected e) {
    if (!e.type().equals("TXT")) {
      return e.value();
    }
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < e.value().length(); i += 255) {
      parts.add("\"" + e.value().substring(i, Math.min(e.value().length(), i + 255)).replace("\\", "\\\\")
          .replace("\"", "\\\"") + "\"");
    }
    return parts.size() == 1 ? parts.getFirst() : "( " + String.join(" ", parts) + " )";
  }

  /** An IP address literal, never looked up in DNS; IllegalArgumentException when it is not one. */
  static InetAddress literal(String ip) {
    try {
      return org.xbill.DNS.Address.getByAddress(ip);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address: " + ip);
    }
  }
}
