package org.darwinmail.admin.web;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.darwinmail.config.HostPort;
import org.darwinmail.dns.Dns;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.Type;

/**
 * The wizard's pre-flight checks (step 5), each a function of its inputs and the server's resolver ({@code [dns]
 * servers}): forward DNS of the host name, reverse DNS of the public address, outbound port 25, the address on
 * DNSBLs. Each answers ok, fail or unknown ("can't tell": the resolver did not answer, or refused); a check never
 * reports a problem it could not see.
 */
final class WizardChecks {
  /** DNSBLs asked when the guard names none; each answers 127.0.0.x for a listed address (RFC 5782 §2.1). */
  static final List<String> DEFAULT_DNSBLS = List.of("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org");
  /** Where the port 25 check connects when the page names no host: a big provider's MX that always answers. */
  static final String DEFAULT_PROBE = "gmail-smtp-in.l.google.com:25";
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  enum Status {
    OK, FAIL, UNKNOWN;

    String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  record Check(String id, Status status, String message) {}

  private final Dns dns;
  private final List<String> dnsbls;

  WizardChecks(Dns dns, List<String> dnsbls) {
    this.dns = dns;
    this.dnsbls = dnsbls.isEmpty() ? DEFAULT_DNSBLS : List.copyOf(dnsbls);
  }

  /** Do the A/AAAA records of {@code hostname} include {@code address} (this appliance's public address)? */
  Check forward(String hostname, String address) {
    return switch (dns.addresses(hostname)) {
      case Dns.Answer.Temporary<InetAddress> t -> new Check("forward", Status.UNKNOWN,
          "Can't tell: " + t.reason());
      case Dns.Answer.NoSuchDomain<InetAddress> n -> new Check("forward", Status.FAIL,
          hostname + " does not exist in DNS: publish an A record " + hostname + " → " + address + ".");
      case Dns.Answer.Found<InetAddress> f when f.values().isEmpty() -> new Check("forward", Status.FAIL,
          hostname + " has no A or AAAA record: publish " + hostname + " → " + address + ".");
      case Dns.Answer.Found<InetAddress> f -> {
        List<String> seen = f.values().stream().map(InetAddress::getHostAddress).toList();
        yield seen.stream().anyMatch(s -> sameAddress(s, address))
            ? new Check("forward", Status.OK, hostname + " points at " + String.join(", ", seen) + ".")
            : new Check("forward", Status.FAIL, hostname + " points at " + String.join(", ", seen)
                + ", not at this appliance's address " + address + ".");
      }
    };
  }

  /** RFC 1912 §2.1: the PTR of the public address names the host name (which must point back: forward check). */
  Check reverse(String address, String hostname) {
    String name;
    try {
      name = ReverseMap.fromAddress(literal(address)).toString();
    } catch (IllegalArgumentException e) {
      return new Check("reverse", Status.FAIL, "\"" + address + "\" is not an IP address.");
    }
    return switch (dns.query(name, Type.PTR, PTRRecord.class)) {
      case Dns.Answer.Temporary<PTRRecord> t -> new Check("reverse", Status.UNKNOWN, "Can't tell: " + t.reason());
      case Dns.Answer.NoSuchDomain<PTRRecord> n -> new Check("reverse", Status.FAIL, address
          + " has no reverse DNS: ask whoever gave you the address (the hosting provider) to set its PTR to "
          + hostname + ".");
      case Dns.Answer.Found<PTRRecord> f when f.values().isEmpty() -> new Check("reverse", Status.FAIL, address
          + " has no PTR record: ask the provider of the address to set it to " + hostname + ".");
      case Dns.Answer.Found<PTRRecord> f -> {
        List<String> seen = f.values().stream().map(r -> r.getTarget().toString(true).toLowerCase(Locale.ROOT))
            .toList();
        yield seen.contains(hostname.toLowerCase(Locale.ROOT))
            ? new Check("reverse", Status.OK, address + " reverses to " + hostname + ".")
            : new Check("reverse", Status.FAIL, address + " reverses to " + String.join(", ", seen) + ", not "
                + hostname + ": ask the provider of the address to change its PTR.");
      }
    };
  }

  /**
   * Can this machine open a TCP connection to port 25 of another mail server (many networks block it), and does it
   * greet (RFC 5321 §4.2: 220)? {@code target} is "host:port".
   */
  Check port25(String target, Duration timeout) {
    HostPort hp;
    try {
      hp = HostPort.parse("target", target);
    } catch (RuntimeException e) {
      return new Check("port25", Status.FAIL, "\"" + target + "\" is not host:port.");
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(hp.host(), hp.port()), (int) timeout.toMillis());
      s.setSoTimeout((int) timeout.toMillis());
      InputStream in = s.getInputStream();
      byte[] greeting = new byte[512];
      int n = 0;
      try {
        n = Math.max(0, in.read(greeting));
      } catch (SocketTimeoutException e) {
        // connected but silent: still reachable
      }
      String first = new String(greeting, 0, n, StandardCharsets.US_ASCII).lines().findFirst().orElse("").strip();
      return new Check("port25", Status.OK, "Connected to " + target + (first.isEmpty() ? "." : ": " + first));
    } catch (SocketTimeoutException e) {
      return new Check("port25", Status.FAIL, "No answer from " + target + " within " + timeout.toSeconds()
          + " s: outgoing port 25 looks blocked. Ask the network's provider to open it, or set a smarthost"
          + " ([delivery] smarthost).");
    } catch (IOException e) {
      return new Check("port25", Status.FAIL, "Cannot connect to " + target + " (" + e.getMessage()
          + "): outgoing port 25 may be blocked, or the host is wrong.");
    }
  }

  /**
   * RFC 5782 §2.1: the address's octets reversed under each list's zone; an A record 127.0.0.x means listed,
   * NXDOMAIN means not listed. A resolver refusal, a timeout, or Spamhaus's 127.255.255.x "query refused" codes
   * mean "can't tell" (public resolvers are often refused), never "listed".
   */
  Check dnsbl(String address) {
    InetAddress a;
    try {
      a = literal(address);
    } catch (IllegalArgumentException e) {
      return new Check("dnsbl", Status.FAIL, "\"" + address + "\" is not an IP address.");
    }
    String reversed = ReverseMap.fromAddress(a).toString(true).replaceFirst("\\.(in-addr|ip6)\\.arpa$", "");
    List<String> listed = new ArrayList<>();
    List<String> unknown = new ArrayList<>();
    for (String zone : dnsbls) {
      switch (dns.addresses(reversed + "." + zone)) {
        case Dns.Answer.NoSuchDomain<InetAddress> n -> { }
        case Dns.Answer.Temporary<InetAddress> t -> unknown.add(zone);
        case Dns.Answer.Found<InetAddress> f -> {
          List<String> codes = f.values().stream().map(InetAddress::getHostAddress).toList();
          if (codes.isEmpty()) {
            continue;
          }
          if (codes.stream().allMatch(c -> c.startsWith("127.255.255.") || !c.startsWith("127."))) {
            unknown.add(zone);
          } else {
            listed.add(zone + " (" + String.join(", ", codes) + ")");
          }
        }
      }
    }
    if (!listed.isEmpty()) {
      return new Check("dnsbl", Status.FAIL, address + " is listed on " + String.join(", ", listed)
          + ": mail from it will be refused by many servers. Follow the list's removal procedure.");
    }
    if (!unknown.isEmpty()) {
      return new Check("dnsbl", Status.UNKNOWN, "Can't tell for " + String.join(", ", unknown)
          + ": the resolver did not answer or the list refused it (lists refuse public resolvers)."
          + (unknown.size() < dnsbls.size() ? " Not listed on the others." : ""));
    }
    return new Check("dnsbl", Status.OK, address + " is on none of " + String.join(", ", dnsbls) + ".");
  }

  private static boolean sameAddress(String a, String b) {
    try {
      return literal(a).equals(literal(b));
    } catch (IllegalArgumentException e) {
      return a.equalsIgnoreCase(b);
    }
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
