package org.darwinmail.mime;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.apache.james.mime4j.codec.Base64InputStream;
import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.QuotedPrintableInputStream;
import org.apache.james.mime4j.util.CharsetUtil;

/**
 * The preview text of a message (IMAP PREVIEW, RFC 8970 §3): the start of its first text part that is not an
 * attachment (text/plain preferred, else text/html with its markup dropped), whitespace folded to single spaces,
 * at most {@link #MAX_CHARS} characters. Bounded work: at most {@link #MAX_RAW} bytes of the part are decoded, and
 * the search for the part stops after {@link #MAX_VISITS} parts.
 */
public final class Preview {
  /** RFC 8970 §3: "no more than 256 characters". */
  public static final int MAX_CHARS = 256;
  static final int MAX_RAW = 16 * 1024;
  static final int MAX_VISITS = 100;

  private Preview() {}

  /** The preview of {@code root}: empty when the message has no text to show. */
  public static String of(MimePart root) {
    int[] visits = {0};
    MimePart p = find(root, "plain", visits, 0);
    boolean html = false;
    if (p == null) {
      visits[0] = 0;
      p = find(root, "html", visits, 0);
      html = p != null;
    }
    if (p == null) {
      return "";
    }
    String text = decode(p);
    if (html) {
      text = stripHtml(text);
    }
    return fold(text);
  }

  private static MimePart find(MimePart p, String subtype, int[] visits, int depth) {
    if (++visits[0] > MAX_VISITS || depth > MimePart.MAX_DEPTH) {
      return null;
    }
    if (p.message != null) {
      return find(p.message, subtype, visits, depth + 1);
    }
    if (p.isMultipart()) {
      for (MimePart c : p.children) {
        MimePart f = find(c, subtype, visits, depth + 1);
        if (f != null) {
          return f;
        }
      }
      return null;
    }
    String disposition = p.header("Content-Disposition");
    boolean attachment = disposition != null
        && disposition.strip().toLowerCase(Locale.ROOT).startsWith("attachment");
    return p.type.equals("text") && p.subtype.equals(subtype) && !attachment ? p : null;
  }

  /** The first {@link #MAX_RAW} bytes of the part's body, transfer-decoded and charset-decoded. */
  private static String decode(MimePart p) {
    int end = (int) Math.min(p.end, (long) p.bodyStart + MAX_RAW);
    byte[] raw = p.bytes(p.bodyStart, end);
    byte[] b;
    try (InputStream in = switch (p.encoding()) {
      case "base64" -> new Base64InputStream(new ByteArrayInputStream(raw), DecodeMonitor.SILENT);
      case "quoted-printable" -> new QuotedPrintableInputStream(new ByteArrayInputStream(raw), DecodeMonitor.SILENT);
      default -> new ByteArrayInputStream(raw);
    }) {
      b = in.readAllBytes();
    } catch (IOException | RuntimeException e) {
      b = raw;
    }
    Charset cs;
    try {
      String name = p.params.get("charset");
      cs = name == null ? null : CharsetUtil.lookup(name);
    } catch (RuntimeException e) {
      cs = null;
    }
    return new String(b, cs == null ? StandardCharsets.UTF_8 : cs);
  }

  /**
   * Markup out (tags, comments, and the contents of style and script), the common entities decoded. One pass, each
   * search starting where the last ended: linear in the text.
   */
  static String stripHtml(String html) {
    String lower = html.toLowerCase(Locale.ROOT);
    StringBuilder sb = new StringBuilder(html.length());
    int i = 0;
    while (i < html.length()) {
      char c = html.charAt(i);
      if (c != '<') {
        sb.append(c);
        i++;
        continue;
      }
      int close;
      if (lower.startsWith("<!--", i)) {
        close = lower.indexOf("-->", i + 4);
        close = close < 0 ? html.length() : close + 3;
      } else if (lower.startsWith("<style", i) || lower.startsWith("<script", i)) {
        String endTag = lower.startsWith("<style", i) ? "</style" : "</script";
        int e = lower.indexOf(endTag, i + 1);
        int gt = e < 0 ? -1 : lower.indexOf('>', e);
        close = gt < 0 ? html.length() : gt + 1;
      } else {
        int gt = lower.indexOf('>', i);
        close = gt < 0 ? html.length() : gt + 1;
      }
      sb.append(' ');
      i = close;
    }
    return sb.toString().replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
        .replace("&#39;", "'").replace("&amp;", "&");
  }

  /** Runs of whitespace and control characters made one space, trimmed, cut to {@link #MAX_CHARS} code points. */
  static String fold(String text) {
    StringBuilder sb = new StringBuilder();
    boolean space = false;
    int count = 0;
    for (int i = 0; i < text.length() && count < MAX_CHARS; ) {
      int c = text.codePointAt(i);
      i += Character.charCount(c);
      if (Character.isWhitespace(c) || Character.isISOControl(c) || c == 0xA0) {
        space = sb.length() > 0;
        continue;
      }
      if (space) {
        sb.append(' ');
        count++;
        space = false;
        if (count >= MAX_CHARS) {
          break;
        }
      }
      sb.appendCodePoint(c);
      count++;
    }
    return sb.toString();
  }
}
