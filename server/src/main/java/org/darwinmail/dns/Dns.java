package org.darwinmail.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.HostPort;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * DNS lookups for delivery, on dnsjava: the resolvers of {@code [dns] servers} (or the system's), one query at a
 * time, answers read from the answer section. Every lookup answers with a value saying what a mail server must do:
 * NXDOMAIN is permanent, SERVFAIL, REFUSED and timeouts are temporary (RFC 5321 §5.1).
 */
public final class Dns {
  private final Resolver resolver;

  /** The outcome of a lookup of one name and type. */
  public sealed interface Answer<T> {
    /** Records found (possibly none: NOERROR/NODATA). */
    record Found<T>(List<T> values) implements Answer<T> {}

    /** NXDOMAIN: the name does not exist. */
    record NoSuchDomain<T>() implements Answer<T> {}

    /** SERVFAIL, REFUSED, timeout, network error: try again later. */
    record Temporary<T>(String reason) implements Answer<T> {}
  }

  /** Where mail for a domain goes (RFC 5321 §5.1). */
  public sealed interface Route {
    /** Host names in the order to try: MX preference order, equal preferences shuffled; or the implicit MX. */
    record Hosts(List<String> hosts, boolean implicit) implements Route {}

    /** "MX 0 ." (RFC 7505): the domain accepts no mail. */
    record NullMx() implements Route {}

    /** The domain does not exist, or has neither MX nor address records. */
    record NoSuchDomain() implements Route {}

    record Temporary(String reason) implements Route {}
  }

  public Dns(DnsConfig config) {
    this.resolver = resolver(config);
  }

  /**
   * The resolver of {@code [dns]}: its servers (else the system's, else 127.0.0.1), each with the timeout and EDNS(0);
   * several are tried in turn. Also the SPF checker's ({@code guard.InboundAuth}).
   */
  public static Resolver resolver(DnsConfig config) {
    List<Resolver> rs = new ArrayList<>();
    List<InetSocketAddress> servers = new ArrayList<>();
    for (String s : config.servers()) {
      HostPort hp = HostPort.parse("dns.servers", s);
      servers.add(new InetSocketAddress(hp.host(), hp.port()));
    }
    if (servers.isEmpty()) {
      servers.addAll(ResolverConfig.getCurrentConfig().servers());
    }
    if (servers.isEmpty()) {
      servers.add(new InetSocketAddress("127.0.0.1", 53));
    }
    for (InetSocketAddress a : servers) {
      SimpleResolver r = new SimpleResolver(a);
      r.setTimeout(Duration.ofSeconds(config.timeoutSeconds()));
      // EDNS(0) with a 1232-byte payload so DKIM keys fit in UDP; truncated answers are retried over TCP.
      r.setEDNS(0, 1232, 0, List.of());
      rs.add(r);
    }
    if (rs.size() == 1) {
      return rs.getFirst();
    }
    ExtendedResolver e = new ExtendedResolver(rs);
    e.setTimeout(Duration.ofSeconds(config.timeoutSeconds()));
    e.setRetries(1);
    return e;
  }

  /** Where to deliver mail for {@code domain} (RFC 5321 §5.1, RFC 7505). */
  public Route route(String domain) {
    Answer<MXRecord> mx = query(domain, Type.MX, MXRecord.class);
    return switch (mx) {
      case Answer.Temporary<MXRecord> t -> new Route.Temporary(t.reason());
      case Answer.NoSuchDomain<MXRecord> n -> new Route.NoSuchDomain();
      case Answer.Found<MXRecord> f when f.values().isEmpty() -> implicitMx(domain);
      case Answer.Found<MXRecord> f -> fromMx(f.values());
    };
  }

  /** RFC 7505 §3: a single MX with preference 0 and the root as target. */
  private static Route fromMx(List<MXRecord> records) {
    if (records.size() == 1 && records.getFirst().getTarget().equals(Name.root)) {
      return new Route.NullMx();
    }
    TreeMap<Integer, List<String>> byPref = new TreeMap<>();
    for (MXRecord r : records) {
      if (r.getTarget().equals(Name.root)) {
        continue; // a null MX among real ones is ignored (RFC 7505 §3)
      }
      byPref.computeIfAbsent(r.getPriority(), k -> new ArrayList<>()).add(hostName(r.getTarget()));
    }
    List<String> hosts = new ArrayList<>();
    for (Map.Entry<Integer, List<String>> e : byPref.entrySet()) {
      List<String> same = new ArrayList<>(e.getValue());
      Collections.shuffle(same, ThreadLocalRandom.current()); // RFC 5321 §5.1: spread load among equals
      for (String h : same) {
        if (!hosts.contains(h)) {
          hosts.add(h);
        }
      }
    }
    return hosts.isEmpty() ? new Route.NullMx() : new Route.Hosts(hosts, false);
  }

  /** No MX: the domain itself is the host, if it has an address (RFC 5321 §5.1). */
  private Route implicitMx(String domain) {
    return switch (addresses(domain)) {
      case Answer.Temporary<InetAddress> t -> new Route.Temporary(t.reason());
      case Answer.NoSuchDomain<InetAddress> n -> new Route.NoSuchDomain();
      case Answer.Found<InetAddress> f when f.values().isEmpty() -> new Route.NoSuchDomain();
      case Answer.Found<InetAddress> f -> new Route.Hosts(List.of(domain), true);
    };
  }

  /** The IPv6 then IPv4 addresses of {@code host}; temporary when either lookup fails and none was found. */
  public Answer<InetAddress> addresses(String host) {
    Answer<AAAARecord> six = query(host, Type.AAAA, AAAARecord.class);
    Answer<ARecord> four = query(host, Type.A, ARecord.class);
    List<InetAddress> out = new ArrayList<>();
    if (six instanceof Answer.Found<AAAARecord> f) {
      f.values().forEach(r -> out.add(r.getAddress()));
    }
    if (four instanceof Answer.Found<ARecord> f) {
      f.values().forEach(r -> out.add(r.getAddress()));
    }
    if (!out.isEmpty()) {
      return new Answer.Found<>(out);
    }
    if (four instanceof Answer.Temporary<ARecord> t) {
      return new Answer.Temporary<>(t.reason());
    }
    if (six instanceof Answer.Temporary<AAAARecord> t) {
      return new Answer.Temporary<>(t.reason());
    }
    if (four instanceof Answer.NoSuchDomain<ARecord>) {
      return new Answer.NoSuchDomain<>();
    }
    return new Answer.Found<>(List.of());
  }

  /** TXT strings of {@code name}, each record's strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2). */
  public Answer<String> txt(String name) {
    return switch (query(name, Type.TXT, TXTRecord.class)) {
      case Answer.Found<TXTRecord> f -> new Answer.Found<>(f.values().stream()
          .map(r -> String.join("", r.getStrings())).toList());
      case Answer.NoSuchDomain<TXTRecord> n -> new Answer.NoSuchDomain<>();
      case Answer.Temporary<TXTRecord> t -> new Answer.Temporary<>(t.reason());
    };
  }

  /** One query; records of {@code type} from the answer section (CNAMEs followed by the resolver). */
  public <T extends Record> Answer<T> query(String name, int type, Class<T> cls) {
    Name n;
    try {
      n = Name.fromString(name.endsWith(".") ? name : name + ".");
    } catch (TextParseException e) {
      return new Answer.NoSuchDomain<>();
    }
    Message response;
    try {
      response = resolver.send(Message.newQuery(Record.newRecord(n, type, DClass.IN)));
    } catch (IOException e) {
      return new Answer.Temporary<>("DNS lookup of " + name + " " + Type.string(type) + " failed: "
          + org.darwinmail.errors.Errors.describe(e));
    }
    int rcode = response.getRcode();
    if (rcode == Rcode.NXDOMAIN) {
      return new Answer.NoSuchDomain<>();
    }
    if (rcode != Rcode.NOERROR) {
      return new Answer.Temporary<>("DNS lookup of " + name + " " + Type.string(type) + " failed: "
          + Rcode.string(rcode));
    }
    List<T> out = new ArrayList<>();
    for (Record r : response.getSection(Section.ANSWER)) {
      if (cls.isInstance(r)) {
        out.add(cls.cast(r));
      }
    }
    return new Answer.Found<>(out);
  }

  private static String hostName(Name n) {
    String s = n.toString(true);
    return s.toLowerCase(java.util.Locale.ROOT);
  }
}
