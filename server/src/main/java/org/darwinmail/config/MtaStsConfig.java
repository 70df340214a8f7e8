package org.darwinmail.config;

import java.util.List;
import java.util.Locale;

/**
 * {@code [mta_sts]}: the MTA-STS policy (RFC 8461) this server publishes for some of its mail domains, served on
 * {@code [listen] https} at {@code https://mta-sts.<domain>/.well-known/mta-sts.txt}, with its DNS records
 * ({@code _mta-sts}, {@code mta-sts}, {@code _smtp._tls}) listed on the console's DNS page. Written by
 * {@code admin.settings.SettingsEngine} into {@code settings.toml}.
 *
 * @param domains mail domains that publish the policy; empty (the default): none, MTA-STS is off
 * @param mode    RFC 8461 §5: {@code testing} (the default: report, deliver anyway), {@code enforce}, or {@code none}
 *                (withdrawing a published policy, §8.3)
 * @param maxAge  seconds senders keep the policy (RFC 8461 §3.2: at most 31557600); default one week
 */
public record MtaStsConfig(List<String> domains, String mode, Long maxAge) {
  public static final List<String> MODES = List.of("none", "testing", "enforce");
  /** RFC 8461 §3.2: "maximum value of 31557600" (a year). */
  public static final long MAX_AGE_LIMIT = 31_557_600L;
  public static final long DEFAULT_MAX_AGE = 604_800L;

  public MtaStsConfig {
    domains = domains == null ? List.of()
        : domains.stream().map(d -> d.strip().toLowerCase(Locale.ROOT)).distinct().toList();
    mode = mode == null ? "testing" : mode.strip().toLowerCase(Locale.ROOT);
    maxAge = maxAge == null ? DEFAULT_MAX_AGE : maxAge;
    if (!MODES.contains(mode)) {
      throw new ConfigException("mta_sts.mode: \"" + mode + "\" is none of " + String.join(", ", MODES));
    }
    Checks.range("mta_sts.max_age", maxAge, 1, MAX_AGE_LIMIT);
    for (String d : domains) {
      if (d.isEmpty() || !d.contains(".") || d.length() > 253) {
        throw new ConfigException("mta_sts.domains: \"" + d + "\" is not a mail domain");
      }
    }
  }

  public static MtaStsConfig defaults() {
    return new MtaStsConfig(null, null, null);
  }

  /** Does {@code domain} (lower case) publish the policy? */
  public boolean publishes(String domain) {
    return domains.contains(domain);
  }
}
