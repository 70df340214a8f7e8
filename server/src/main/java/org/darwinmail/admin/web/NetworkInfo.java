package org.darwinmail.admin.web;

import java.io.IOException;
import java.io.InputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The network as the system has it (wizard step 4, read-only: OVF properties or DHCP set it, the VM console edits
 * it): the addresses of the interfaces that are up, the default gateway from {@code /proc/net/route}, the DNS
 * servers and search domains from {@code /etc/resolv.conf}. The parsers do no I/O and read at most
 * {@link #MAX_FILE} bytes of each file.
 */
record NetworkInfo(List<Interface> interfaces, String gateway, List<String> dnsServers, List<String> search) {
  static final int MAX_FILE = 64 * 1024;

  record Interface(String name, List<String> addresses) {}

  static NetworkInfo read() {
    return read(Path.of("/etc/resolv.conf"), Path.of("/proc/net/route"));
  }

  static NetworkInfo read(Path resolvConf, Path routes) {
    List<String> dns = new ArrayList<>();
    List<String> search = new ArrayList<>();
    parseResolvConf(head(resolvConf), dns, search);
    return new NetworkInfo(listInterfaces(), parseDefaultGateway(head(routes)), List.copyOf(dns), List.copyOf(search));
  }

  private static String head(Path p) {
    try (InputStream in = Files.newInputStream(p)) {
      return new String(in.readNBytes(MAX_FILE), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** resolv.conf(5): "nameserver ADDRESS" lines (at most 3 are used by the system; all are shown), "search". */
  static void parseResolvConf(String text, List<String> dns, List<String> search) {
    for (String line : text.split("\n")) {
      String[] w = line.strip().split("\\s+");
      if (w.length >= 2 && w[0].equals("nameserver")) {
        dns.add(w[1]);
      } else if (w.length >= 2 && (w[0].equals("search") || w[0].equals("domain"))) {
        search.clear();
        search.addAll(List.of(w).subList(1, w.length));
      }
    }
  }

  /**
   * The gateway of the default route in {@code /proc/net/route}: the line whose Destination and Mask are 00000000,
   * with the RTF_UP and RTF_GATEWAY flags; its Gateway field is the IPv4 address in host (little-endian) order.
   * Null when there is none.
   */
  static String parseDefaultGateway(String text) {
    String best = null;
    int bestMetric = Integer.MAX_VALUE;
    for (String line : text.split("\n")) {
      String[] f = line.strip().split("\\s+");
      if (f.length < 8 || f[0].equals("Iface") || !f[1].equals("00000000") || !f[7].equals("00000000")) {
        continue;
      }
      try {
        int flags = Integer.parseInt(f[3], 16);
        int metric = Integer.parseInt(f[6]);
        if ((flags & 0x3) != 0x3 || metric >= bestMetric) {
          continue;
        }
        long g = Long.parseLong(f[2], 16);
        best = (g & 0xff) + "." + ((g >> 8) & 0xff) + "." + ((g >> 16) & 0xff) + "." + ((g >> 24) & 0xff);
        bestMetric = metric;
      } catch (NumberFormatException e) {
        // not a route line
      }
    }
    return best;
  }

  private static List<Interface> listInterfaces() {
    List<Interface> out = new ArrayList<>();
    try {
      for (NetworkInterface n : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!n.isUp() || n.isLoopback()) {
          continue;
        }
        List<String> a = new ArrayList<>();
        for (InterfaceAddress ia : n.getInterfaceAddresses()) {
          InetAddress x = ia.getAddress();
          if (!x.isLinkLocalAddress()) {
            a.add(x.getHostAddress().replaceAll("%.*", "") + "/" + ia.getNetworkPrefixLength());
          }
        }
        if (!a.isEmpty()) {
          out.add(new Interface(n.getName(), List.copyOf(a)));
        }
      }
    } catch (SocketException e) {
      // none listed
    }
    out.sort(java.util.Comparator.comparing(Interface::name));
    return List.copyOf(out);
  }

  /** This machine's address for mail: the first IPv4 address of an interface that is up, else the first one. */
  String primaryAddress() {
    String first = null;
    for (Interface i : interfaces) {
      for (String a : i.addresses()) {
        String ip = a.substring(0, a.indexOf('/'));
        if (first == null) {
          first = ip;
        }
        if (!ip.contains(":")) {
          return ip;
        }
      }
    }
    return first;
  }

  /** Is {@code ip} a private (RFC 1918), shared (RFC 6598), loopback or unique-local address: behind NAT? */
  static boolean privateAddress(String ip) {
    try {
      InetAddress a = literal(ip);
      if (a.isSiteLocalAddress() || a.isLoopbackAddress() || a.isLinkLocalAddress()) {
        return true;
      }
      byte[] b = a.getAddress();
      if (a instanceof Inet4Address) {
        return (b[0] & 0xff) == 100 && (b[1] & 0xc0) == 64;
      }
      return (b[0] & 0xfe) == 0xfc;
    } catch (IllegalArgumentException e) {
      return false;
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
