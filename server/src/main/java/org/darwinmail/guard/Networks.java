package org.darwinmail.guard;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Client addresses as the guard sees them: a set of networks (CIDR) to test an address against, and the key that
 * per-client counts are kept under.
 */
public final class Networks {
  private final List<byte[]> addresses = new ArrayList<>();
  private final List<Integer> bits = new ArrayList<>();

  /** @param cidrs "192.0.2.0/24", "2001:db8::/32", or an address alone (all its bits) */
  public Networks(List<String> cidrs) {
    for (String cidr : cidrs) {
      int slash = cidr.indexOf('/');
      try {
        byte[] a = InetAddress.getByName(slash < 0 ? cidr : cidr.substring(0, slash)).getAddress();
        int n = slash < 0 ? a.length * 8 : Integer.parseInt(cidr.substring(slash + 1));
        addresses.add(a);
        bits.add(Math.min(n, a.length * 8));
      } catch (UnknownHostException | NumberFormatException e) {
        throw new IllegalArgumentException("not a network: " + cidr);
      }
    }
  }

  public boolean contains(InetAddress client) {
    byte[] a = client.getAddress();
    for (int n = 0; n < addresses.size(); n++) {
      if (prefixMatches(a, addresses.get(n), bits.get(n))) {
        return true;
      }
    }
    return false;
  }

  private static boolean prefixMatches(byte[] addr, byte[] net, int bits) {
    if (addr.length != net.length) {
      return false;
    }
    for (int i = 0; i < bits; i++) {
      int mask = 0x80 >> (i % 8);
      if ((addr[i / 8] & mask) != (net[i / 8] & mask)) {
        return false;
      }
    }
    return true;
  }

  /**
   * The key per-client limits count under: an IPv4 address itself; for IPv6 its /64 ("2001:db8:1:2::/64"),
   * because one host or customer normally gets a whole /64 (RFC 6177) and can use any address in it.
   * (An IPv4-mapped IPv6 address is already an IPv4 {@link InetAddress} in Java.)
   */
  public static String clientKey(InetAddress client) {
    byte[] a = client.getAddress();
    if (a.length == 4) {
      return client.getHostAddress();
    }
    StringBuilder sb = new StringBuilder();
    int zerosFrom = -1; // the trailing run of zero groups among the first four is written as "::"
    for (int g = 3; g >= 0 && ((a[2 * g] | a[2 * g + 1]) == 0); g--) {
      zerosFrom = g;
    }
    for (int g = 0; g < 4 && g != zerosFrom; g++) {
      if (g > 0) {
        sb.append(':');
      }
      sb.append(Integer.toHexString(((a[2 * g] & 0xff) << 8) | (a[2 * g + 1] & 0xff)));
    }
    return sb.append("::/64").toString();
  }
}
