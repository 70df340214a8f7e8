package org.darwinmail.imap;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

  private static void params(Map<String, String> params, Resp r) {
    if (params.isEmpty()) {
      r.raw("NIL");
      return;
    }
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
}
