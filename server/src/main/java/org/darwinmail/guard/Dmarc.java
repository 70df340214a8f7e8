package org.darwinmail.guard;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.darwinmail.dns.Dns;

/**
 * DMARC evaluation (RFC 7489; no maintained Java library exists): policy discovery at {@code _dmarc.<From domain>}
 * then at the organisational domain (§6.6.3), identifier alignment of SPF and DKIM (§3.1), the policy to apply
 * ({@code p}, {@code sp} for subdomains, {@code pct} sampling, §6.6.4).
 */
public final class Dmarc {
  private final Function<String, Dns.Answer<String>> txt;
  private final PublicSuffixList psl;

  /** @param txt TXT lookup (the strings of each record joined) */
  public Dmarc(Function<String, Dns.Answer<String>> txt, PublicSuffixList psl) {
    this.txt = txt;
    this.psl = psl;
  }

  public enum Policy { NONE, QUARANTINE, REJECT }

  /** A parsed record (RFC 7489 §6.3): only what evaluation needs. */
  public record Record(Policy p, Policy sp, boolean strictDkim, boolean strictSpf, int pct) {

    /** Parses "v=DMARC1; p=...; ..."; null when it is not a usable DMARC record. */
    public static Record parse(String text) {
      Map<String, String> tags = new LinkedHashMap<>();
      String[] parts = text.split(";");
      for (String part : parts) {
        int eq = part.indexOf('=');
        if (eq > 0) {
          tags.putIfAbsent(part.substring(0, eq).strip().toLowerCase(Locale.ROOT), part.substring(eq + 1).strip());
        } else if (!part.isBlank()) {
          return null;
        }
      }
      // v must be the first tag, exactly "DMARC1" (§6.3, §6.4).
      if (tags.isEmpty() || !tags.keySet().iterator().next().equals("v") || !"DMARC1".equals(tags.get("v"))) {
        return null;
      }
      Policy p = policy(tags.get("p"));
      if (p == null) {
        // §6.6.3 step 6: a record with a bad or missing p but with rua is treated as p=none.
        if (tags.containsKey("rua")) {
          p = Policy.NONE;
        } else {
          return null;
        }
      }
      Policy sp = tags.containsKey("sp") ? policy(tags.get("sp")) : p;
      if (sp == null) {
        sp = p;
      }
      int pct = 100;
      String pv = tags.get("pct");
      if (pv != null) {
        try {
          pct = Math.max(0, Math.min(100, Integer.parseInt(pv)));
        } catch (NumberFormatException e) {
          pct = 100;
        }
      }
      return new Record(p, sp, "s".equalsIgnoreCase(tags.get("adkim")), "s".equalsIgnoreCase(tags.get("aspf")), pct);
    }

    private static Policy policy(String v) {
      if (v == null) {
        return null;
      }
      return switch (v.toLowerCase(Locale.ROOT)) {
        case "none" -> Policy.NONE;
        case "quarantine" -> Policy.QUARANTINE;
        case "reject" -> Policy.REJECT;
        default -> null;
      };
    }
  }

  /**
   * The outcome: {@code result} for Authentication-Results (pass, fail, none, temperror, permerror), the
   * published policy, and the disposition to apply (NONE unless the result is fail).
   */
  public record Verdict(String result, Policy policy, Policy disposition, String fromDomain) {}

  /**
   * @param fromDomain   the RFC5322.From domain (null when the message has none or several: permerror)
   * @param spfPass      the SPF result was pass
   * @param spfDomain    the domain SPF checked (MAIL FROM domain, or HELO for the null sender)
   * @param dkimDomains  the d= of every DKIM signature that verified
   */
  public Verdict evaluate(String fromDomain, boolean spfPass, String spfDomain, List<String> dkimDomains) {
    if (fromDomain == null) {
      return new Verdict("permerror", Policy.NONE, Policy.NONE, null);
    }
    String from = fromDomain.toLowerCase(Locale.ROOT);
    String org = psl.organisationalDomain(from);
    boolean atOrg = false;
    Lookup l = lookup("_dmarc." + from);
    if (l.temporary) {
      return new Verdict("temperror", Policy.NONE, Policy.NONE, from);
    }
    if (l.record == null && !org.equals(from)) {
      l = lookup("_dmarc." + org);
      atOrg = true;
      if (l.temporary) {
        return new Verdict("temperror", Policy.NONE, Policy.NONE, from);
      }
    }
    if (l.record == null) {
      return new Verdict("none", Policy.NONE, Policy.NONE, from);
    }
    Record r = l.record;
    Policy policy = atOrg ? r.sp() : r.p();
    boolean spfAligned = spfPass && spfDomain != null && aligned(from, spfDomain.toLowerCase(Locale.ROOT), r.strictSpf());
    boolean dkimAligned = dkimDomains.stream().anyMatch(d -> aligned(from, d.toLowerCase(Locale.ROOT), r.strictDkim()));
    if (spfAligned || dkimAligned) {
      return new Verdict("pass", policy, Policy.NONE, from);
    }
    Policy disposition = policy;
    // §6.6.4: pct < 100 applies the policy to that share of failing mail; the rest gets the next policy down.
    if (r.pct() < 100 && ThreadLocalRandom.current().nextInt(100) >= r.pct()) {
      disposition = policy == Policy.REJECT ? Policy.QUARANTINE : Policy.NONE;
    }
    return new Verdict("fail", policy, disposition, from);
  }

  /** §3.1.1, §3.1.2: strict means identical; relaxed means the same organisational domain. */
  boolean aligned(String from, String other, boolean strict) {
    if (strict) {
      return from.equals(other);
    }
    return psl.organisationalDomain(from).equals(psl.organisationalDomain(other));
  }

  private record Lookup(Record record, boolean temporary) {}

  /** §6.6.3: records not starting with v=DMARC1 are discarded; more than one left means no policy. */
  private Lookup lookup(String name) {
    return switch (txt.apply(name)) {
      case Dns.Answer.Found<String> f -> {
        List<String> candidates = f.values().stream()
            .filter(s -> s.strip().regionMatches(true, 0, "v=DMARC1", 0, 8)).toList();
        yield new Lookup(candidates.size() == 1 ? Record.parse(candidates.getFirst().strip()) : null, false);
      }
      case Dns.Answer.NoSuchDomain<String> n -> new Lookup(null, false);
      case Dns.Answer.Temporary<String> t -> new Lookup(null, true);
    };
  }
}
