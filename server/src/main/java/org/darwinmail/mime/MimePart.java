package org.darwinmail.mime;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.james.mime4j.codec.Base64InputStream;
import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.DecoderUtil;
import org.apache.james.mime4j.codec.QuotedPrintableInputStream;
import org.apache.james.mime4j.dom.address.AddressList;
import org.apache.james.mime4j.field.address.LenientAddressParser;
import org.apache.james.mime4j.stream.NameValuePair;
import org.apache.james.mime4j.stream.ParserCursor;
import org.apache.james.mime4j.stream.RawBody;
import org.apache.james.mime4j.stream.RawField;
import org.apache.james.mime4j.stream.RawFieldParser;
import org.apache.james.mime4j.util.ByteArrayBuffer;
import org.apache.james.mime4j.util.CharsetUtil;

/**
 * The MIME structure of a message (RFC 2045/2046) as byte offsets into its raw text, so IMAP can serve
 * BODY[section] exactly as stored and compute BODYSTRUCTURE (RFC 3501 §7.4.2). Boundaries are found on the raw
 * bytes; header fields (Content-Type parameters, encoded words, transfer decodings) are interpreted with Mime4j.
 * Parsing is total: broken MIME (missing boundaries, bad headers, 8-bit junk) still gives a structure, and depth and
 * part counts are bounded.
 */
public final class MimePart {
  /**
   * How deep bodies nest (README, "MIME structure"): a part of a multipart, or the message inside a message/rfc822
   * part, is one level below its parent; the top-level message is level 0. A multipart at this level is not split
   * (it is an application/octet-stream part holding the rest), a message/rfc822 part here is not opened.
   */
  public static final int MAX_DEPTH = 25;
  /** At most this many parts; past it, likewise. */
  static final int MAX_PARTS = 2000;

  /** One header field: name, unfolded value, and its raw bytes [start, end) including the line ending. */
  public record Field(String name, String value, int start, int end) {}

  private final byte[] data;
  public final int start;      // first byte of the header
  public final int bodyStart;  // first byte of the body (after the blank line)
  public final int end;        // end of the body (exclusive)
  public final List<Field> fields;
  public final String type;    // lower case
  public final String subtype; // lower case
  public final Map<String, String> params;
  public final List<MimePart> children = new ArrayList<>();
  /** For message/rfc822 parts: the encapsulated message. */
  public MimePart message;

  private MimePart(byte[] data, int start, int end, String defaultType, int depth, int[] count) {
    this.data = data;
    this.start = start;
    this.end = end;
    this.fields = new ArrayList<>();
    this.bodyStart = parseHeader(start, end);
    String ct = header("Content-Type");
    String t = defaultType;
    Map<String, String> p = new LinkedHashMap<>();
    if (ct != null) {
      RawBody rb = RawFieldParser.DEFAULT.parseRawBody(new RawField("Content-Type", unfolded(ct)));
      String v = rb.getValue() == null ? "" : rb.getValue().trim().toLowerCase(Locale.ROOT);
      if (v.matches("[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")) {
        t = v;
        for (NameValuePair nv : rb.getParams()) {
          if (nv.getName() != null && !nv.getName().isEmpty() && p.size() < 50) {
            p.put(nv.getName().toLowerCase(Locale.ROOT), nv.getValue() == null ? "" : nv.getValue());
          }
        }
      }
    }
    // Past the bounds a multipart is not split: it is one opaque part holding the rest (BODY, BODYSTRUCTURE, the
    // section numbers and SEARCH all see the same thing), not an empty multipart a client would take as the truth.
    boolean bounded = depth >= MAX_DEPTH || count[0] >= MAX_PARTS;
    if (bounded && t.startsWith("multipart/")) {
      t = "application/octet-stream";
      p.clear();
    }
    if (t.equals("text/plain") && !p.containsKey("charset")) {
      p.put("charset", "us-ascii");
    }
    this.params = p;
    int slash = t.indexOf('/');
    this.type = t.substring(0, slash);
    this.subtype = t.substring(slash + 1);
    count[0]++;
    if (bounded) {
      return;
    }
    if (type.equals("multipart") && params.get("boundary") != null && !params.get("boundary").isEmpty()) {
      splitMultipart(params.get("boundary"), subtype.equals("digest") ? "message/rfc822" : "text/plain", depth,
          count);
    } else if (type.equals("message") && subtype.equals("rfc822") && !encoded()) {
      message = new MimePart(data, bodyStart, end, "text/plain", depth + 1, count);
    }
  }

  /** Parses a whole message. */
  public static MimePart parse(byte[] data) {
    return new MimePart(data, 0, data.length, "text/plain", 0, new int[1]);
  }

  private boolean encoded() {
    String e = encoding();
    return e.equals("base64") || e.equals("quoted-printable");
  }

  /** Header fields up to the first empty line; returns where the body starts. */
  private int parseHeader(int from, int to) {
    int i = from;
    int fieldStart = -1;
    while (i < to) {
      int eol = indexOf((byte) '\n', i, to);
      int lineEnd = eol < 0 ? to : eol + 1;
      int contentEnd = eol < 0 ? to : (eol > i && data[eol - 1] == '\r' ? eol - 1 : eol);
      if (contentEnd == i) { // empty line: end of header
        addField(fieldStart, i);
        return lineEnd;
      }
      byte first = data[i];
      if (first == ' ' || first == '\t') {
        if (fieldStart < 0) {
          fieldStart = i; // continuation without a field: kept as part of a nameless field
        }
      } else {
        addField(fieldStart, i);
        fieldStart = i;
      }
      i = lineEnd;
    }
    addField(fieldStart, to);
    return to; // no body
  }

  private void addField(int s, int e) {
    if (s < 0 || fields.size() >= 1000) {
      return;
    }
    String raw = new String(data, s, e - s, StandardCharsets.UTF_8);
    int colon = raw.indexOf(':');
    if (colon <= 0) {
      fields.add(new Field("", "", s, e));
      return;
    }
    String name = raw.substring(0, colon).trim();
    String value = raw.substring(colon + 1).replaceAll("\r?\n", "").trim();
    fields.add(new Field(name, value, s, e));
  }

  /** RFC 2046 §5.1.1: parts sit between "--boundary" lines; the CRLF before a boundary belongs to the boundary. */
  private void splitMultipart(String boundary, String childDefault, int depth, int[] count) {
    byte[] delim = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    int partStart = -1;
    int i = bodyStart;
    while (i < end) {
      int eol = indexOf((byte) '\n', i, end);
      int lineEnd = eol < 0 ? end : eol + 1;
      if (startsWith(i, delim, end)) {
        int after = i + delim.length;
        boolean close = after + 1 < end && data[after] == '-' && data[after + 1] == '-';
        if (partStart >= 0) {
          int pe = i;
          if (pe > partStart && data[pe - 1] == '\n') {
            pe--;
            if (pe > partStart && data[pe - 1] == '\r') {
              pe--;
            }
          }
          addChild(partStart, pe, childDefault, depth, count);
        }
        if (close) {
          return;
        }
        partStart = lineEnd;
      }
      i = lineEnd;
    }
    if (partStart >= 0 && partStart < end) {
      addChild(partStart, end, childDefault, depth, count); // no closing boundary: the last part runs to the end
    }
  }

  private void addChild(int s, int e, String def, int depth, int[] count) {
    if (count[0] < MAX_PARTS) {
      children.add(new MimePart(data, s, Math.max(s, e), def, depth + 1, count));
    }
  }

  private boolean startsWith(int at, byte[] p, int limit) {
    if (at + p.length > limit) {
      return false;
    }
    for (int k = 0; k < p.length; k++) {
      if (data[at + k] != p[k]) {
        return false;
      }
    }
    return true;
  }

  private int indexOf(byte b, int from, int to) {
    for (int k = from; k < to; k++) {
      if (data[k] == b) {
        return k;
      }
    }
    return -1;
  }

  // ---- access -----------------------------------------------------------------------------------------------

  public boolean isMultipart() {
    return !children.isEmpty() || type.equals("multipart");
  }

  /** The first value of a header field (unfolded, undecoded), or null. */
  public String header(String name) {
    for (Field f : fields) {
      if (f.name().equalsIgnoreCase(name)) {
        return f.value();
      }
    }
    return null;
  }

  /** Every value of a header field. */
  public List<String> headers(String name) {
    List<String> out = new ArrayList<>();
    for (Field f : fields) {
      if (f.name().equalsIgnoreCase(name)) {
        out.add(f.value());
      }
    }
    return out;
  }

  /** A header value with RFC 2047 encoded words decoded. */
  public String decodedHeader(String name) {
    String v = header(name);
    return v == null ? null : decodeWords(v);
  }

  /**
   * The addresses of an address header (RFC 5322 §3.4), leniently. Mime4j's {@code parseAddressList(CharSequence)}
   * encodes non-ASCII text to UTF-8 but stops its cursor at the text's length in chars, so every byte a character
   * takes beyond one (a U+FFFD that replaced a raw Latin-1 byte takes three) cut one byte off the end: "Zo\xeb
   * <zoe@example.org>" gave the domain "example.or". The cursor here runs to the end of the bytes.
   */
  public static AddressList addresses(String value) {
    byte[] b = value.getBytes(StandardCharsets.UTF_8);
    return LenientAddressParser.DEFAULT.parseAddressList(
        new ByteArrayBuffer(b, b.length, false), new ParserCursor(0, b.length));
  }

  public static String decodeWords(String v) {
    try {
      return DecoderUtil.decodeEncodedWords(v, DecodeMonitor.SILENT);
    } catch (RuntimeException e) {
      return v;
    }
  }

  public String encoding() {
    String e = header("Content-Transfer-Encoding");
    return e == null ? "7bit" : e.trim().toLowerCase(Locale.ROOT);
  }

  /** The parameters of a structured header (Content-Disposition), value first under the key "". */
  public Map<String, String> structured(String name) {
    String v = header(name);
    if (v == null) {
      return null;
    }
    RawBody rb = RawFieldParser.DEFAULT.parseRawBody(new RawField(name, unfolded(v)));
    Map<String, String> m = new LinkedHashMap<>();
    m.put("", rb.getValue() == null ? "" : rb.getValue().trim());
    for (NameValuePair nv : rb.getParams()) {
      if (nv.getName() != null && !nv.getName().isEmpty() && m.size() < 50) {
        m.put(nv.getName().toLowerCase(Locale.ROOT), nv.getValue() == null ? "" : nv.getValue());
      }
    }
    return m;
  }

  public int bodySize() {
    return end - bodyStart;
  }

  public int bodyLines() {
    int n = 0;
    for (int k = bodyStart; k < end; k++) {
      if (data[k] == '\n') {
        n++;
      }
    }
    if (end > bodyStart && data[end - 1] != '\n') {
      n++;
    }
    return n;
  }

  public byte[] bytes(int from, int to) {
    byte[] out = new byte[Math.max(0, to - from)];
    System.arraycopy(data, from, out, 0, out.length);
    return out;
  }

  /** The header bytes including the blank line that ends it. */
  public byte[] headerBytes() {
    return bytes(start, bodyStart);
  }

  public byte[] bodyBytes() {
    return bytes(bodyStart, end);
  }

  /** The header fields named (or, with {@code not}, all others), followed by the blank line (RFC 3501 §6.4.5). */
  public byte[] headerFields(List<String> names, boolean not) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (Field f : fields) {
      boolean listed = names.stream().anyMatch(n -> n.equalsIgnoreCase(f.name()));
      if (listed != not && !f.name().isEmpty()) {
        out.write(data, f.start(), f.end() - f.start());
        if (data[f.end() - 1] != '\n') {
          out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
      }
    }
    out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  /**
   * The part numbered {@code path} (RFC 3501 §6.4.5 / RFC 9051 §6.4.5 part numbering), or null when there is none.
   * This part is the top-level message; a number counts the parts of a message (its children when multipart, else
   * "1" is its body) or of a multipart part. A message/rfc822 part is itself numbered (its body is the whole
   * encapsulated message); the numbers after it count the parts of the encapsulated message. So for a message that
   * is itself message/rfc822, "1" is the encapsulated message and "1.1" that message's first part.
   */
  public MimePart part(int[] path) {
    MimePart p = null; // null: still at the top-level message
    for (int n : path) {
      MimePart container;
      if (p == null) {
        container = this;
      } else if (p.message != null) {
        container = p.message;
      } else if (p.isMultipart()) {
        container = p;
      } else if (n == 1) {
        continue; // "1" of a leaf is the leaf (as before, and as Dovecot answers)
      } else {
        return null;
      }
      if (container.isMultipart()) {
        if (n < 1 || n > container.children.size()) {
          return null;
        }
        p = container.children.get(n - 1);
      } else if (n == 1) {
        p = container;
      } else {
        return null;
      }
    }
    return p == null ? this : p;
  }

  /** The body with its transfer encoding undone (BINARY, RFC 3516); null for an unknown encoding. */
  public byte[] decodedBody() {
    String e = encoding();
    InputStream raw = new ByteArrayInputStream(data, bodyStart, end - bodyStart);
    try {
      InputStream in = switch (e) {
        case "base64" -> new Base64InputStream(raw, DecodeMonitor.SILENT);
        case "quoted-printable" -> new QuotedPrintableInputStream(raw, DecodeMonitor.SILENT);
        case "7bit", "8bit", "binary", "" -> raw;
        default -> null;
      };
      return in == null ? null : in.readAllBytes();
    } catch (IOException | RuntimeException x) {
      return bodyBytes();
    }
  }

  private volatile String lowerText;
  private volatile String lowerHeaderText;

  /** {@link #text()} in lower case, computed once (messages are immutable; SEARCH BODY runs over many). */
  public String lowerText() {
    String t = lowerText;
    if (t == null) {
      t = text().toLowerCase(Locale.ROOT);
      lowerText = t;
    }
    return t;
  }

  /** {@link #headerText()} in lower case, computed once. */
  public String lowerHeaderText() {
    String t = lowerHeaderText;
    if (t == null) {
      t = headerText().toLowerCase(Locale.ROOT);
      lowerHeaderText = t;
    }
    return t;
  }

  /** The text of every text/* leaf, decoded to Unicode (for SEARCH BODY/TEXT). */
  public String text() {
    StringBuilder sb = new StringBuilder();
    collectText(sb);
    return sb.toString();
  }

  private void collectText(StringBuilder sb) {
    if (sb.length() > 4_000_000) {
      return;
    }
    if (message != null) {
      sb.append(message.headerText()).append('\n');
      message.collectText(sb);
    } else if (isMultipart()) {
      for (MimePart c : children) {
        c.collectText(sb);
      }
    } else if (type.equals("text")) {
      byte[] b = decodedBody();
      if (b == null) {
        b = bodyBytes();
      }
      Charset cs = null;
      try {
        cs = params.get("charset") == null ? null : CharsetUtil.lookup(params.get("charset"));
      } catch (RuntimeException e) {
        cs = null;
      }
      sb.append(new String(b, cs == null ? StandardCharsets.UTF_8 : cs)).append('\n');
    }
  }

  /** The header as decoded text (for SEARCH TEXT). */
  public String headerText() {
    StringBuilder sb = new StringBuilder();
    for (Field f : fields) {
      sb.append(f.name()).append(": ").append(decodeWords(f.value())).append('\n');
    }
    return sb.toString();
  }

  /** A header value with any CR or LF left inside it (a bare CR in broken mail) made a space: Mime4j refuses them. */
  private static String unfolded(String v) {
    return v.indexOf('\r') < 0 && v.indexOf('\n') < 0 ? v : v.replace('\r', ' ').replace('\n', ' ');
  }
}
