package org.darwinmail.config;

import java.util.List;
import java.util.Locale;

/**
 * Checks of mail arriving on port 25 ({@code [guard.inbound]}): SPF (RFC 7208), DKIM (RFC 6376), DMARC
 * (RFC 7489), recorded in an Authentication-Results: header (RFC 8601), and optional DNSBLs.
 *
 * @param enabled          false: no SPF/DKIM/DMARC checks, no Authentication-Results header
 * @param trustedNetworks  client networks (CIDR) whose mail is not checked: local relays, the host itself
 * @param dmarcReject      what a DMARC "p=reject" failure gets: "reject" (550 5.7.1), "quarantine" (Junk), "none"
 * @param dmarcQuarantine  what a DMARC "p=quarantine" failure gets: "quarantine" (Junk) or "none"
 * @param dnsblZones       DNS blocklist zones to query for the client address (none by default); a listed client
 *                         is refused with 554 5.7.1; answers 127.255.255.x are errors of the list, never listings
 */
public record InboundConfig(Boolean enabled, List<String> trustedNetworks, String dmarcReject, String dmarcQuarantine,
    List<String> dnsblZones) {
  public InboundConfig {
    enabled = enabled == null || enabled;
    trustedNetworks = trustedNetworks == null ? List.of("127.0.0.0/8", "::1/128") : List.copyOf(trustedNetworks);
    dmarcReject = dmarcReject == null ? "reject" : dmarcReject.toLowerCase(Locale.ROOT);
    dmarcQuarantine = dmarcQuarantine == null ? "quarantine" : dmarcQuarantine.toLowerCase(Locale.ROOT);
    dnsblZones = dnsblZones == null ? List.of() : List.copyOf(dnsblZones);
    if (!List.of("reject", "quarantine", "none").contains(dmarcReject)) {
      throw new ConfigException("guard.inbound.dmarc_reject: must be reject, quarantine or none");
    }
    if (!List.of("quarantine", "none").contains(dmarcQuarantine)) {
      throw new ConfigException("guard.inbound.dmarc_quarantine: must be quarantine or none");
    }
    for (String n : trustedNetworks) {
      if (!n.matches("[0-9a-fA-F:.]+(/\\d{1,3})?")) {
        throw new ConfigException("guard.inbound.trusted_networks: not a network: " + n);
      }
    }
    for (String z : dnsblZones) {
      if (!z.matches("[A-Za-z0-9.-]+")) {
        throw new ConfigException("guard.inbound.dnsbl_zones: not a zone: " + z);
      }
    }
  }

  public static InboundConfig defaults() {
    return new InboundConfig(null, null, null, null, null);
  }
}
