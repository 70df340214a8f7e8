package org.darwinmail.urlauth;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An absolute IMAP URL with URLAUTH (RFC 5092 §11 "imapurl" restricted to what RFC 4467 needs: one message or one
 * of its sections), parsed with no I/O:
 * {@code imap://user@host[:port]/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][;EXPIRE=t];URLAUTH=access[:mech:token]}.
 *
 * @param rump      the URL up to and including the access identifier: what the token signs (RFC 4467 §2.4)
 * @param user      the owner of the mailbox (percent-decoded)
 * @param host      the host, without a port, in lower case
 * @param section   the section in FETCH's grammar (upper case), or null for the whole message
 * @param expire    the ";EXPIRE=" instant (RFC 4467 §2.3.2), or null
 * @param access    the access identifier (RFC 4467 §2.3.3), its "+user" part decoded
 * @param mechanism the authorization mechanism, upper case, or null for a rump URL
 * @param token     the token in lower-case hex, or null for a rump URL
 */
public record ImapUrl(String rump, String user, String host, String mailbox, long uidValidity, long uid,
    String section, Instant expire, String access, String mechanism, String token) {
  /** The longest URL accepted (RFC 5092 sets none; the IMAP and SMTP line limits bound it anyway). */
  public static final int MAX_URL = 2048;

  // RFC 5092 §11: "imap://" iuserinfo "@" hostport "/" enc-mailbox [uidvalidity] iuid [isection] [expire]
  // ";URLAUTH=" access [":" mechanism ":" enc-urlauth] (RFC 4467 §7: enc-urlauth = 32*HEXDIG). Linear: each group is
  // one character class between fixed texts; the input is at most MAX_URL characters.
  private static final Pattern URL = Pattern.compile(
      "(imap://([^@/;?#:]+)@([^/;?#@]+)/([^;?#]+?)(?:;UIDVALIDITY=([1-9][0-9]{0,9}))?/;UID=([1-9][0-9]{0,9})"
          + "(?:/;SECTION=([^/;?#]+))?(?:;EXPIRE=([0-9TZtz:.+-]{10,40}))?;URLAUTH=([^:;?#/]+))"
          + "(?::([A-Za-z0-9._-]{1,32}):([0-9A-Fa-f]{32,128}))?",
      Pattern.CASE_INSENSITIVE);
  // RFC 3501 §6.4.5 section-spec, without HEADER.FIELDS: part numbers, then HEADER / TEXT / MIME (MIME after a part)
  private static final Pattern SECTION = Pattern.compile("(?:[1-9][0-9]{0,4}(?:\\.[1-9][0-9]{0,4}){0,24})"
      + "(?:\\.(?:HEADER|TEXT|MIME))?|HEADER|TEXT");

  /** Parses {@code url}; throws {@link UrlAuth.Refused} ({@code SYNTAX}) when it is not one this server reads. */
  public static ImapUrl parse(String url) {
    Matcher m = url.length() <= MAX_URL ? URL.matcher(url) : null;
    if (m == null || !m.matches()) {
      throw new UrlAuth.Refused(UrlAuth.Failure.SYNTAX, "not an IMAP URLAUTH URL");
    }
    try {
      String section = m.group(7) == null ? null : decode(m.group(7)).toUpperCase(Locale.ROOT);
      if (section != null && !SECTION.matcher(section).matches()) {
        throw new UrlAuth.Refused(UrlAuth.Failure.SYNTAX, "unsupported section");
      }
      Instant expire = m.group(8) == null ? null : OffsetDateTime.parse(m.group(8).toUpperCase(Locale.ROOT))
          .toInstant();
      String host = m.group(3).toLowerCase(Locale.ROOT);
      int colon = host.lastIndexOf(':');
      if (colon > 0 && host.indexOf(']') < colon) {
        host = host.substring(0, colon);
      }
      return new ImapUrl(m.group(1), decode(m.group(2)), host, decode(m.group(4)),
          m.group(5) == null ? 0 : Long.parseLong(m.group(5)), Long.parseLong(m.group(6)), section, expire,
          access(m.group(9)), m.group(10) == null ? null : m.group(10).toUpperCase(Locale.ROOT),
          m.group(11) == null ? null : m.group(11).toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException | DateTimeParseException e) {
      throw new UrlAuth.Refused(UrlAuth.Failure.SYNTAX, "malformed URL");
    }
  }

  /** RFC 4467 §2.3.3: "submit+" / "user+" enc-user (decoded, the prefix in lower case), or the identifier. */
  private static String access(String a) {
    int plus = a.indexOf('+');
    if (plus < 0) {
      return a.toLowerCase(Locale.ROOT);
    }
    return a.substring(0, plus + 1).toLowerCase(Locale.ROOT) + decode(a.substring(plus + 1));
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
