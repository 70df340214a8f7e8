package org.darwinmail.imap;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.james.mime4j.dom.address.Address;
import org.apache.james.mime4j.dom.address.AddressList;
import org.apache.james.mime4j.dom.address.Group;
import org.apache.james.mime4j.dom.address.Mailbox;
import org.darwinmail.mime.MimePart;

/** ENVELOPE and BODYSTRUCTURE / BODY (RFC 3501 §7.4.2, RFC 9051 §7.5.2) rendered from a {@link MimePart}. */
final class Render {
  private Render() {}

  // envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to SP env-cc SP
  //            env-bcc SP env-in-reply-to SP env-message-id ")"
  static void envelope(MimePart m, Resp r) {
    r.raw("(");
    r.nstring(m.header("Date")).sp();
    r.nstring(m.header("Subject")).sp();
    String from = m.header("From");
    addresses(from, r);
    r.sp();
    // RFC 3501 §7.4.2: sender and reply-to default to from
    addresses(m.header("Sender") != null ? m.header("Sender") : from, r);
    r.sp();
    addresses(m.header("Reply-To") != null ? m.header("Reply-To") : from, r);
    r.sp();
    addresses(m.header("To"), r);
    r.sp();
    addresses(m.header("Cc"), r);
    r.sp();
    addresses(m.header("Bcc"), r);
    r.sp();
    r.nstring(m.header("In-Reply-To")).sp();
    r.nstring(m.header("Message-ID"));
    r.raw(")");
  }

  private static void addresses(String value, Resp r) {
    if (value == null || value.isBlank()) {
      r.raw("NIL");
      return;
    }
    AddressList list;
    try {
      list = MimePart.addresses(value);
    } catch (RuntimeException e) {
      list = null;
    }
    List<Address> all = list == null ? List.of() : new ArrayList<>(list);
    if (all.isEmpty()) {
      r.raw("NIL");
      return;
    }
    r.raw("(");
    List<String> comments = all.stream().allMatch(a -> a instanceof Mailbox) ? comments(value, all.size()) : null;
    int n = 0;
    for (Address a : all) {
      if (n++ > 500) {
        break;
      }
      if (a instanceof Mailbox mb) {
        String c = comments == null ? null : comments.get(n - 1);
        Mailbox named = mb;
        if ((mb.getName() == null || mb.getName().isEmpty()) && c != null && !c.isBlank()) {
          // "user@domain (Real Name)": no phrase, so the comment is the display name (RFC 822 §6.1 usage; Dovecot)
          named = new Mailbox(c.strip(), mb.getRoute(), mb.getLocalPart(), mb.getDomain());
        }
        mailbox(named, r);
      } else if (a instanceof Group g) {
        r.raw("(NIL NIL ").string(g.getName() == null ? "" : word(g.getName())).raw(" NIL)");
        for (Mailbox mb : g.getMailboxes()) {
          mailbox(mb, r);
        }
        r.raw("(NIL NIL NIL NIL)");
      }
    }
    r.raw(")");
  }

  /**
   * For each comma-separated address of {@code value} (quoted strings, comments and angle brackets respected): the
   * text of its last top-level comment when the address is a bare addr-spec (no "<"), else null. Null when the
   * count differs from {@code expected} (the parser saw the list otherwise) or the list has groups. One pass.
   */
  static List<String> comments(String value, int expected) {
    List<String> out = new ArrayList<>();
    StringBuilder comment = null;
    String last = null;
    boolean angle = false;
    boolean quoted = false;
    int depth = 0;
    boolean content = false; // anything but whitespace in this address so far
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c != ',' && !Character.isWhitespace(c)) {
        content = true;
      }
      if (c == '\\' && (quoted || depth > 0)) {
        i++;
        if (depth > 0 && i < value.length()) {
          comment.append(value.charAt(i));
        }
      } else if (quoted) {
        quoted = c != '"';
      } else if (depth > 0) {
        if (c == '(') {
          depth++;
        } else if (c == ')' && --depth == 0) {
          last = comment.toString();
          continue;
        }
        comment.append(c);
      } else if (c == '(') {
        depth = 1;
        comment = new StringBuilder();
      } else if (c == '"') {
        quoted = true;
      } else if (c == '<') {
        angle = true;
      } else if (c == ':' || c == ';') {
        return null;
      } else if (c == ',') {
        if (content) {
          out.add(angle ? null : last);
        }
        angle = false;
        last = null;
        content = false;
      }
    }
    if (depth > 0 && comment != null) {
      last = comment.toString();
    }
    if (content) {
      out.add(angle ? null : last);
    }
    return out.size() == expected ? out : null;
  }

  private static void mailbox(Mailbox mb, Resp r) {
    r.raw("(").nstring(mb.getName() == null || mb.getName().isEmpty() ? null : word(mb.getName())).sp();
    r.nstring(mb.getRoute() == null || mb.getRoute().isEmpty() ? null : mb.getRoute().toRouteString()).sp();
    r.nstring(mb.getLocalPart()).sp();
    r.nstring(mb.getDomain());
    r.raw(")");
  }

  /** Mime4j decodes display names; an envelope carries them as in the header, so non-ASCII goes back to RFC 2047. */
  private static String word(String s) {
    if (s.chars().allMatch(c -> c < 0x80)) {
      return s;
    }
    return "=?UTF-8?B?" + Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)) + "?=";
  }

  // body = "(" (body-type-1part / body-type-mpart) ")"
  static void body(MimePart p, boolean ext, Resp r) {
    r.raw("(");
    if (p.isMultipart()) {
      if (p.children.isEmpty()) {
        // a multipart without parts (broken MIME): shown as one empty text part, so clients can still render it
        r.raw("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)");
      }
      for (MimePart c : p.children) {
        body(c, ext, r);
      }
      r.sp().string(p.subtype.toUpperCase(Locale.ROOT));
      if (ext) { // body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
        r.sp();
        params(p.params, r);
        r.sp();
        extTail(p, r);
      }
    } else {
      r.string(p.type.toUpperCase(Locale.ROOT)).sp().string(p.subtype.toUpperCase(Locale.ROOT)).sp();
      params(p.params, r);
      r.sp().nstring(p.header("Content-ID")).sp();
      r.nstring(p.header("Content-Description")).sp();
      r.string(p.encoding().toUpperCase(Locale.ROOT)).sp();
      r.num(p.bodySize());
      if (p.message != null) {
        r.sp();
        envelope(p.message, r);
        r.sp();
        body(p.message, ext, r);
        r.sp().num(p.bodyLines());
      } else if (p.type.equals("message") && p.subtype.equals("rfc822")) {
        // an encoded (or too deeply nested) message/rfc822 still needs the message fields of body-type-msg
        r.raw(" (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0) ")
            .num(p.bodyLines());
      } else if (p.type.equals("text")) {
        r.sp().num(p.bodyLines());
      }
      if (ext) { // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
        r.sp().nstring(p.header("Content-MD5")).sp();
        extTail(p, r);
      }
    }
    r.raw(")");
  }

  private static void extTail(MimePart p, Resp r) {
    Map<String, String> d = p.structured("Content-Disposition");
    if (d == null || d.get("").isEmpty()) {
      r.raw("NIL");
    } else {
      r.raw("(").string(d.get("").toUpperCase(Locale.ROOT)).sp();
      Map<String, String> dp = new java.util.LinkedHashMap<>(d);
      dp.remove("");
      params(dp, r);
      r.raw(")");
    }
    r.sp();
    String lang = p.header("Content-Language");
    if (lang == null) {
      r.raw("NIL");
    } else {
      String[] langs = lang.split("\\s*,\\s*");
      if (langs.length == 1) {
        r.string(langs[0].trim());
      } else {
        r.raw("(");
        for (int i = 0; i < langs.length; i++) {
          if (i > 0) {
            r.sp();
          }
          r.string(langs[i].trim());
        }
        r.raw(")");
      }
    }
    r.sp().nstring(p.header("Content-Location"));
  }

  private static void params(Map<String, String> given, Resp r) {
    if (given.isEmpty()) {
      r.raw("NIL");
      return;
    }
    Map<String, String> params = rfc2231(given);
    r.raw("(");
    boolean first = true;
    for (var e : params.entrySet()) {
      if (!first) {
        r.sp();
      }
      first = false;
      r.string(e.getKey().toUpperCase(Locale.ROOT)).sp().string(e.getValue());
    }
    r.raw(")");
  }

  /** name*, name*N, name*N* (RFC 2231 §3, §4): the base name, the section number (0 for name*), encoded or not. */
  private static final Pattern SECTION = Pattern.compile("([^*]+)\\*(?:(\\d{1,3})(\\*)?)?");

  /**
   * RFC 9051 §7.5.2 body-fld-param: "Servers SHOULD decode parameter value continuations and parameter value
   * character sets as described in [RFC2231]". Continuations (name*0, name*1, ...) become one name. An encoded value
   * (name*, name*0*) whose decoded text is printable ASCII is given decoded under the plain name; any other keeps
   * the RFC 2231 form charset'language'%XX under name*, joined, for the client to decode (a session without
   * UTF8=ACCEPT gets no 8-bit text here). Each name keeps the place of its first section; keys are lower case.
   */
  static Map<String, String> rfc2231(Map<String, String> params) {
    Map<String, TreeMap<Integer, String[]>> sections = new LinkedHashMap<>();
    for (var e : params.entrySet()) {
      Matcher m = SECTION.matcher(e.getKey());
      if (m.matches()) {
        boolean encoded = m.group(2) == null || m.group(3) != null;
        int n = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
        sections.computeIfAbsent(m.group(1), k -> new TreeMap<>())
            .put(n, new String[] {e.getValue(), encoded ? "*" : ""});
      }
    }
    if (sections.isEmpty()) {
      return params;
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (var e : params.entrySet()) {
      Matcher m = SECTION.matcher(e.getKey());
      if (!m.matches()) {
        out.putIfAbsent(e.getKey(), e.getValue());
      } else if (!out.containsKey(m.group(1)) && !out.containsKey(m.group(1) + "*")) {
        joined(m.group(1), sections.get(m.group(1)), out);
      }
    }
    return out;
  }

  private static void joined(String name, TreeMap<Integer, String[]> parts, Map<String, String> out) {
    boolean anyEncoded = parts.values().stream().anyMatch(v -> !v[1].isEmpty());
    if (!anyEncoded) {
      out.put(name, String.join("", parts.values().stream().map(v -> v[0]).toList()));
      return;
    }
    String charset = "us-ascii";
    String lang = "";
    StringBuilder pct = new StringBuilder();
    boolean first = true;
    for (String[] v : parts.values()) {
      String text = v[0];
      if (first && !v[1].isEmpty()) { // charset'language'value, in the first section only (RFC 2231 §4)
        int q1 = text.indexOf('\'');
        int q2 = q1 < 0 ? -1 : text.indexOf('\'', q1 + 1);
        if (q2 > 0) {
          charset = text.substring(0, q1);
          lang = text.substring(q1 + 1, q2);
          text = text.substring(q2 + 1);
        }
      }
      first = false;
      pct.append(v[1].isEmpty() ? percentEncoded(text) : text);
    }
    String decoded = percentDecoded(pct.toString(), charset);
    if (decoded != null && decoded.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
      out.put(name, decoded);
    } else {
      out.put(name + "*", charset + "'" + lang + "'" + pct);
    }
  }

  /** An unencoded section inside an encoded value: its characters as RFC 2231 attribute-chars or %XX of UTF-8. */
  private static String percentEncoded(String s) {
    StringBuilder b = new StringBuilder();
    for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xff;
      if (c > 0x20 && c < 0x7f && "*'%()<>@,;:\\\"/[]?=".indexOf(c) < 0) {
        b.append((char) c);
      } else {
        b.append('%').append(String.format("%02X", c));
      }
    }
    return b.toString();
  }

  /** %XX decoded and read in {@code charset}; null when the text or the charset is not usable. */
  private static String percentDecoded(String s, String charset) {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%') {
        if (i + 2 >= s.length() || Character.digit(s.charAt(i + 1), 16) < 0
            || Character.digit(s.charAt(i + 2), 16) < 0) {
          return null;
        }
        b.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
        i += 2;
      } else if (c < 0x80) {
        b.write(c);
      } else {
        return null;
      }
    }
    try {
      return new String(b.toByteArray(), java.nio.charset.Charset.forName(charset.isEmpty() ? "us-ascii" : charset));
    } catch (IllegalArgumentException e) { // unknown or illegal charset name
      return null;
    }
  }
}
