package org.darwinmail.delivery;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * MTA-STS's texts (RFC 8461), parsed without I/O: the {@code _mta-sts} TXT record (§3.1), the policy (§3.2) and the
 * matching of MX host names against its {@code mx} patterns (§4.1). Strict and bounded: a record or policy that
 * does not follow the grammar is no policy at all (§3.1, §3.2), never half of one.
 */
final class MtaSts {
  /** RFC 8461 §3.2: "maximum value of 31557600"; a larger max_age is cut to it. */
  static final long MAX_AGE_LIMIT = 31_557_600L;
  /** mx patterns kept from one policy, at most (real policies have a handful). */
  static final int MAX_MX = 100;

  private MtaSts() {}

  /** §5: what a sender does under the policy. */
  enum Mode {
    ENFORCE, TESTING, NONE;

    String word() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A valid policy: its mode, mx patterns (lower case) and max_age in seconds (capped). */
  record Policy(Mode mode, List<String> mx, long maxAge) {
    /** §4.1: whether the MX host {@code host} is one the policy names. */
    boolean allows(String host) {
      return mx.stream().anyMatch(p -> matches(p, host));
    }
  }

  /** Why a record or a policy is refused, in words for the log and the trace. */
  static final class Invalid extends Exception {
    Invalid(String message) {
      super(message);
    }
  }

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9]{1,32}");
  private static final Pattern EXT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
  private static final Pattern EXT_VALUE = Pattern.compile("[\\x21-\\x3a\\x3c\\x3e-\\x7e]+");
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

  /**
   * §3.1: the policy id of the domain's TXT records, or empty when it has no usable record: records not beginning
   * with "v=STSv1;" are discarded; if the number left is not one, or the one left does not follow the grammar, the
   * domain has no available policy.
   *
   * <pre>
   * sts-text-record = sts-version 1*(*WSP %x3B *WSP sts-field) [%x3B]
   * sts-field = sts-id / sts-extension;  sts-id = %s"id=" 1*32(ALPHA / DIGIT)
   * </pre>
   */
  static Optional<String> id(List<String> txts) {
    List<String> ours = txts.stream().filter(t -> t.startsWith("v=STSv1;")).toList();
    if (ours.size() != 1) {
      return Optional.empty();
    }
    String rec = ours.getFirst();
    if (rec.length() > 4096) {
      return Optional.empty();
    }
    String[] fields = rec.substring("v=STSv1;".length()).split(";", -1);
    String id = null;
    for (int i = 0; i < fields.length; i++) {
      String f = fields[i].strip();
      if (f.isEmpty()) {
        if (i == fields.length - 1 && i > 0) {
          continue; // the optional trailing ";"
        }
        return Optional.empty();
      }
      int eq = f.indexOf('=');
      if (eq <= 0) {
        return Optional.empty();
      }
      String name = f.substring(0, eq);
      String value = f.substring(eq + 1);
      if (name.equals("id")) {
        if (id != null || !ID.matcher(value).matches()) {
          return Optional.empty();
        }
        id = value;
      } else if (!EXT_NAME.matcher(name).matches() || !EXT_VALUE.matcher(value).matches()) {
        return Optional.empty();
      }
    }
    return Optional.ofNullable(id);
  }

  /**
   * §3.2: the policy in {@code text} (lines ended by CRLF or LF; "key: value", whitespace after the colon and at the
   * line's end allowed; empty lines skipped). version "STSv1", mode and max_age are required, once each; mx one or
   * more times (required unless the mode is "none"); other keys that follow the extension grammar are ignored.
   */
  static Policy parse(String text) throws Invalid {
    String version = null;
    Mode mode = null;
    Long maxAge = null;
    List<String> mx = new ArrayList<>();
    int n = 0;
    for (String raw : text.split("\n", -1)) {
      n++;
      String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
      line = line.stripTrailing();
      if (line.isEmpty()) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new Invalid("line " + n + " is not \"key: value\"");
      }
      String key = line.substring(0, colon);
      String value = line.substring(colon + 1).stripLeading();
      switch (key) {
        case "version" -> {
          if (version != null || !value.equals("STSv1")) {
            throw new Invalid(version != null ? "version given twice" : "version is not STSv1");
          }
          version = value;
        }
        case "mode" -> {
          if (mode != null) {
            throw new Invalid("mode given twice");
          }
          mode = switch (value) {
            case "enforce" -> Mode.ENFORCE;
            case "testing" -> Mode.TESTING;
            case "none" -> Mode.NONE;
            default -> throw new Invalid("mode \"" + printable(value) + "\" is none of enforce, testing, none");
          };
        }
        case "max_age" -> {
          if (maxAge != null || !value.matches("[0-9]{1,10}")) {
            throw new Invalid(maxAge != null ? "max_age given twice" : "max_age is not 1 to 10 digits");
          }
          maxAge = Math.min(Long.parseLong(value), MAX_AGE_LIMIT);
        }
        case "mx" -> {
          String p = value.toLowerCase(Locale.ROOT);
          if (!pattern(p)) {
            throw new Invalid("mx \"" + printable(value) + "\" is not a host name or *.domain");
          }
          if (mx.size() >= MAX_MX) {
            throw new Invalid("more than " + MAX_MX + " mx patterns");
          }
          if (!mx.contains(p)) {
            mx.add(p);
          }
        }
        default -> {
          if (!EXT_NAME.matcher(key).matches() || !EXT_VALUE.matcher(value.replace(" ", "!")).matches()) {
            throw new Invalid("line " + n + " is not \"key: value\"");
          }
        }
      }
    }
    if (version == null) {
      throw new Invalid("no version");
    }
    if (mode == null) {
      throw new Invalid("no mode");
    }
    if (maxAge == null) {
      throw new Invalid("no max_age");
    }
    if (mx.isEmpty() && mode != Mode.NONE) {
      throw new Invalid("no mx");
    }
    return new Policy(mode, List.copyOf(mx), maxAge);
  }

  /** §3.2: {@code sts-policy-mx-value = ["*."] Domain} (RFC 5321's Domain: LDH labels). */
  private static boolean pattern(String p) {
    String d = p.startsWith("*.") ? p.substring(2) : p;
    if (d.isEmpty() || d.length() > 253) {
      return false;
    }
    for (String label : d.split("\\.", -1)) {
      if (!LABEL.matcher(label).matches()) {
        return false;
      }
    }
    return true;
  }

  /**
   * §4.1: an MX host name matches a pattern equal to it, or "*.rest" when it is one label followed by ".rest" (the
   * wildcard stands for exactly one leftmost label). Case and a trailing dot do not count.
   */
  static boolean matches(String pattern, String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    if (pattern.startsWith("*.")) {
      int dot = h.indexOf('.');
      return dot > 0 && h.substring(dot + 1).equals(pattern.substring(2));
    }
    return h.equals(pattern);
  }

  private static String printable(String s) {
    String t = s.replaceAll("[^\\x20-\\x7e]", "?");
    return t.length() > 80 ? t.substring(0, 80) + "..." : t;
  }
}
