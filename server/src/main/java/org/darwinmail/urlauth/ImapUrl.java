package org.darwinmail.urlauth;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An absolute IMAP URL with URLAUTH (RFC 5092 §11 "imapurl" restricted to what RFC 4467 needs: one message or one
 * of its sections, or a range of either), parsed with no I/O:
 * {@code imap://user@host[:port]/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]][;EXPIRE=t]
 * ;URLAUTH=access[:mech:token]}.
 *
 * @param rump      the URL up to and including the access identifier: what the token signs (RFC 4467 §2.4)
 * @param user      the owner of the mailbox (percent-decoded)
 * @param host      the host, without a port, in lower case
 * @param section   the section in FETCH's grammar (upper case), or null for the whole message
 * @param part      the section parsed, or null for the whole message
 * @param partial   the ";PARTIAL=" origin and length (Long.MAX_VALUE when the URL gives none), or null
 * @param expire    the ";EXPIRE=" instant (RFC 4467 §2.3.2), or null
 * @param access    the access identifier (RFC 4467 §2.3.3): "authuser", "anonymous", or "submit+" / "user+" and
 *                  the user, decoded
 * @param mechanism the authorization mechanism, upper case, or null for a rump URL
 * @param token     the token in lower-case hex, or null for a rump URL
 */
public record ImapUrl(String rump, String user, String host, String mailbox, long uidValidity, long uid,
    String section, Section part, long[] partial, Instant expire, String access, String mechanism, String token) {
  /** The longest URL accepted (RFC 5092 sets none; the IMAP and SMTP line limits bound it anyway). */
  public static final int MAX_URL = 2048;
  /** The most part numbers in a section, and the most header field names in a HEADER.FIELDS list. */
  static final int MAX_DEPTH = 25;
  static final int MAX_FIELDS = 64;

  /**
   * A section-spec (RFC 3501 §6.4.5, which RFC 5092 §3 enc-section %-encodes): part numbers, then what is named in
   * that part: "" (the part's body, or the whole message with no numbers), HEADER, TEXT, MIME, HEADER.FIELDS or
   * HEADER.FIELDS.NOT with its field names (upper case).
   */
  public record Section(int[] path, String text, List<String> fields) {}

  // RFC 5092 §11: "imap://" iuserinfo "@" hostport "/" enc-mailbox [uidvalidity] iuid [isection] [ipartial]
  // [expire] ";URLAUTH=" access [":" mechanism ":" enc-urlauth] (RFC 4467 §7: enc-urlauth = 32*HEXDIG;
  // partial-range = number ["." nz-number]). Linear: each group is one character class between fixed texts; the
  // input is at most MAX_URL characters.
  private static final Pattern URL = Pattern.compile(
      "(imap://([^@/;?#:]+)@([^/;?#@]+)/([^;?#]+?)(?:;UIDVALIDITY=([1-9][0-9]{0,9}))?/;UID=([1-9][0-9]{0,9})"
          + "(?:/;SECTION=([^/;?#]+))?(?:/;PARTIAL=([0-9]{1,10})(?:\\.([1-9][0-9]{0,9}))?)?"
          + "(?:;EXPIRE=([0-9TZtz:.+-]{10,40}))?;URLAUTH=([^:;?#/]+))"
          + "(?::([A-Za-z0-9._-]{1,32}):([0-9A-Fa-f]{32,128}))?",
      Pattern.CASE_INSENSITIVE);

  /** Parses {@code url}; throws {@link UrlAuth.Refused} ({@code SYNTAX}) when it is not one this server reads. */
  public static ImapUrl parse(String url) {
    Matcher m = url.length() <= MAX_URL ? URL.matcher(url) : null;
    if (m == null || !m.matches()) {
      throw new UrlAuth.Refused(UrlAuth.Failure.SYNTAX, "not an IMAP URLAUTH URL");
    }
    try {
      String section = m.group(7) == null ? null : decode(m.group(7)).toUpperCase(Locale.ROOT);
      Section part = section == null ? null : section(section);
      long[] partial = m.group(8) == null ? null : new long[] {Long.parseLong(m.group(8)),
          m.group(9) == null ? Long.MAX_VALUE : Long.parseLong(m.group(9))};
      Instant expire = m.group(10) == null ? null : OffsetDateTime.parse(m.group(10).toUpperCase(Locale.ROOT))
          .toInstant();
      String host = m.group(3).toLowerCase(Locale.ROOT);
      int colon = host.lastIndexOf(':');
      if (colon > 0 && host.indexOf(']') < colon) {
        host = host.substring(0, colon);
      }
      return new ImapUrl(m.group(1), decode(m.group(2)), host, decode(m.group(4)),
          m.group(5) == null ? 0 : Long.parseLong(m.group(5)), Long.parseLong(m.group(6)), section, part, partial,
          expire, access(m.group(11)), m.group(12) == null ? null : m.group(12).toUpperCase(Locale.ROOT),
          m.group(13) == null ? null : m.group(13).toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException | DateTimeParseException e) {
      throw new UrlAuth.Refused(UrlAuth.Failure.SYNTAX, "malformed URL");
    }
  }

  /**
   * RFC 3501 §6.4.5 section-spec = section-msgtext / (section-part ["." section-text]); section-msgtext = "HEADER" /
   * "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"; section-text adds "MIME". One pass over at most MAX_URL
   * characters; an IllegalArgumentException when it is not one.
   */
  static Section section(String s) {
    List<Integer> path = new ArrayList<>();
    int i = 0;
    while (i < s.length() && s.charAt(i) >= '1' && s.charAt(i) <= '9') {
      int j = i;
      while (j < s.length() && Character.isDigit(s.charAt(j)) && j - i < 5) {
        j++;
      }
      path.add(Integer.parseInt(s.substring(i, j)));
      if (path.size() > MAX_DEPTH) {
        throw new IllegalArgumentException("too deep");
      }
      i = j;
      if (i == s.length()) {
        break;
      }
      if (s.charAt(i) != '.') {
        throw new IllegalArgumentException("bad part number");
      }
      i++;
      if (i == s.length()) {
        throw new IllegalArgumentException("a dot ends the section");
      }
    }
    String text = s.substring(i);
    List<String> fields = List.of();
    if (text.startsWith("HEADER.FIELDS")) {
      int open = text.indexOf(" (");
      if (open < 0 || !text.endsWith(")")) {
        throw new IllegalArgumentException("HEADER.FIELDS needs a list");
      }
      fields = fields(text.substring(open + 2, text.length() - 1));
      text = text.substring(0, open);
      if (!text.equals("HEADER.FIELDS") && !text.equals("HEADER.FIELDS.NOT")) {
        throw new IllegalArgumentException("unknown section");
      }
    } else if (!(text.isEmpty() && !path.isEmpty()) && !text.equals("HEADER") && !text.equals("TEXT")
        && !(text.equals("MIME") && !path.isEmpty())) {
      throw new IllegalArgumentException("unknown section");
    }
    return new Section(path.stream().mapToInt(Integer::intValue).toArray(), text, fields);
  }

  /** header-list's names (RFC 3501 §9 header-fld-name = astring, here atoms: printable, no ':' or specials). */
  private static List<String> fields(String list) {
    List<String> out = new ArrayList<>();
    for (String f : list.split(" ", -1)) {
      if (f.isEmpty() || out.size() == MAX_FIELDS) {
        throw new IllegalArgumentException("bad header list");
      }
      for (int k = 0; k < f.length(); k++) {
        char c = f.charAt(k);
        if (c <= ' ' || c >= 0x7f || ":()\"\\{%*]".indexOf(c) >= 0) {
          throw new IllegalArgumentException("bad field name");
        }
      }
      out.add(f);
    }
    return List.copyOf(out);
  }

  /** RFC 4467 §2.3.3: "authuser", "anonymous", or "submit+" / "user+" enc-user (decoded, the prefix lower case). */
  private static String access(String a) {
    String lower = a.toLowerCase(Locale.ROOT);
    if (lower.equals("authuser") || lower.equals("anonymous")) {
      return lower;
    }
    int plus = a.indexOf('+');
    String prefix = plus < 0 ? "" : lower.substring(0, plus + 1);
    if (!prefix.equals("submit+") && !prefix.equals("user+") || plus == a.length() - 1) {
      throw new IllegalArgumentException("unknown access identifier");
    }
    return prefix + decode(a.substring(plus + 1));
  }

  /** %XX escapes (RFC 3986 §2.1) to UTF-8 text (RFC 5092 §3.2); a bad escape is an IllegalArgumentException. */
  static String decode(String s) {
    ByteArrayOutputStream b = new ByteArrayOutputStream(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%') {
        if (i + 2 >= s.length()) {
          throw new IllegalArgumentException("bad escape");
        }
        int hi = Character.digit(s.charAt(i + 1), 16);
        int lo = Character.digit(s.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          throw new IllegalArgumentException("bad escape");
        }
        b.write(hi << 4 | lo);
        i += 2;
      } else {
        byte[] u = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        b.write(u, 0, u.length);
      }
    }
    return b.toString(StandardCharsets.UTF_8);
  }
}
