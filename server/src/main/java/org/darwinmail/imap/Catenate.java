package org.darwinmail.imap;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.darwinmail.imap.ImapCommand.CatPart;
import org.darwinmail.imap.ImapCommand.CatText;
import org.darwinmail.imap.ImapCommand.CatUrl;
import org.darwinmail.mime.MimePart;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.MailStore;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;

/**
 * CATENATE (RFC 4469): builds the message of an APPEND from TEXT literals and URLs naming messages or sections in
 * the user's own mailboxes, byte for byte in the order given, into a new blob (never the whole message in memory
 * for a whole-message URL). URLs are RFC 5092 IMAP URLs relative to this server ("/" enc-mailbox [uidvalidity] iuid
 * [isection] [ipartial]); anything else, or one naming nothing that exists, is NO [BADURL url] (RFC 4469 §5); a
 * result over the message-size limit is NO [TOOBIG] (RFC 4469 §6).
 */
final class Catenate {
  /** A URL longer than this is not resolved (the line limit bounds it anyway). */
  static final int MAX_URL = 2048;

  // RFC 5092 §11: "/" enc-mailbox [uidvalidity] iuid [isection] [ipartial]; no ";EXPIRE=" / ";URLAUTH=" (URLAUTH,
  // RFC 4467, is not offered). Linear: each group is one character class, separated by fixed text.
  private static final Pattern URL = Pattern.compile(
      "/([^;?#]+?)(?:;UIDVALIDITY=([1-9][0-9]{0,9}))?/;UID=([1-9][0-9]{0,9})(?:/;SECTION=([^/;?#]+))?"
          + "(?:/;PARTIAL=([0-9]{1,10})(?:\\.([1-9][0-9]{0,9}))?)?",
      Pattern.CASE_INSENSITIVE);

  private Catenate() {}

  /**
   * Assembles the parts into a new literal (its blob not committed yet: the caller stores or discards it), at most
   * {@code limit} bytes. The TEXT literals are consumed (dropped) either way.
   */
  static ImapLiteral assemble(MailStore mail, Account account, List<CatPart> parts, long limit) {
    try {
      // First every URL is resolved and every size added up, so that BADURL and TOOBIG come before any byte is
      // written; a section's bytes are read again when written (one section in memory at a time).
      List<Resolved> urls = new java.util.ArrayList<>();
      long total = 0;
      for (CatPart p : parts) {
        long size = switch (p) {
          case CatText t -> t.text().size();
          case CatUrl u -> {
            Resolved r = resolve(mail, account, u.url());
            urls.add(r);
            yield r.size(mail);
          }
        };
        total = checked(total, size, limit);
      }
      BlobStore.BlobWriter out = mail.blobs().create();
      try {
        int next = 0;
        for (CatPart p : parts) {
          switch (p) {
            case CatText t -> copy(t.text(), out);
            case CatUrl u -> urls.get(next++).writeTo(mail, out);
          }
        }
      } catch (IOException e) {
        out.abort();
        if (mail.blobs().capacity().recheck()) {
          throw ImapException.storageFull();
        }
        throw new UncheckedIOException(e);
      } catch (RuntimeException e) {
        out.abort();
        throw e;
      }
      return new ImapLiteral(null, out, total);
    } finally {
      parts.forEach(p -> {
        if (p instanceof CatText t) {
          t.text().discard();
        }
      });
    }
  }

  /** RFC 4469 §6 (TOOBIG): the message being built may not pass the limit APPENDLIMIT announces. */
  private static long checked(long total, long more, long limit) {
    if (total + more > limit) {
      throw ImapException.no("TOOBIG", "Catenated message too large (limit " + limit + " bytes)");
    }
    return total + more;
  }

  /** Copies a TEXT literal: from memory, or from the file its blob writer staged (large literals). */
  private static void copy(ImapLiteral text, BlobStore.BlobWriter out) throws IOException {
    if (text.bytes() != null) {
      out.write(text.bytes());
      return;
    }
    try (InputStream in = Files.newInputStream(text.blob().stage())) {
      in.transferTo(out);
    }
  }

  /**
   * What a URL names: a whole stored message (streamed from its blob), or a section of one and/or a byte range
   * (read into memory when needed).
   */
  record Resolved(MessageRow row, FetchItem.Section section, long[] partial) {
    long size(MailStore mail) {
      return section == null && partial == null ? row.size() : bytes(mail).length;
    }

    byte[] bytes(MailStore mail) {
      byte[] data = section == null ? whole(mail, row) : sectionData(mail, row, section);
      if (partial != null) {
        // RFC 5092 §5: ;PARTIAL=offset[.length], a range of the (section's) bytes
        int from = (int) Math.min(partial[0], data.length);
        int len = (int) Math.min(partial[1], data.length - from);
        data = java.util.Arrays.copyOfRange(data, from, from + len);
      }
      return data;
    }

    void writeTo(MailStore mail, BlobStore.BlobWriter out) throws IOException {
      if (section != null || partial != null) {
        out.write(bytes(mail));
        return;
      }
      try (InputStream in = mail.open(row)) {
        in.transferTo(out);
      }
    }
  }

  /** An RFC 5092 URL relative to this server, parsed: what it names, not yet looked up. */
  record Url(String mailbox, long uidValidity, long uid, FetchItem.Section section, long[] partial) {}

  /** RFC 5092 §11 grammar, with no I/O: the URL's parts, or NO [BADURL url] (RFC 4469 §5). */
  static Url parse(String url) {
    Matcher m = url.length() <= MAX_URL ? URL.matcher(url) : null;
    if (m == null || !m.matches()) {
      throw badUrl(url);
    }
    try {
      String name = MailStore.canonicalName(percentDecode(m.group(1)));
      FetchItem.Section sec = m.group(4) == null ? null : section(percentDecode(m.group(4)));
      long[] partial = m.group(5) == null ? null : new long[] {Long.parseLong(m.group(5)),
          m.group(6) == null ? Long.MAX_VALUE : Long.parseLong(m.group(6))};
      return new Url(name, m.group(2) == null ? 0 : Long.parseLong(m.group(2)), Long.parseLong(m.group(3)), sec,
          partial);
    } catch (IllegalArgumentException | ImapException e) {
      throw badUrl(url);
    }
  }

  /** RFC 4469 §5 / RFC 5092: what a URL names, or NO [BADURL url] when it names nothing this user can read. */
  static Resolved resolve(MailStore mail, Account account, String url) {
    Url u = parse(url);
    // Only the user's own mailboxes: there is no sharing (ACL, RFC 4314) in this server.
    Mailbox box = mail.mailbox(account.id(), u.mailbox()).orElseThrow(() -> badUrl(url));
    if (u.uidValidity() != 0 && u.uidValidity() != box.uidValidity()) {
      throw badUrl(url); // RFC 5092 §5: a UIDVALIDITY that no longer holds names nothing
    }
    MessageRow row = mail.message(box.id(), u.uid()).orElseThrow(() -> badUrl(url));
    if (u.section() != null && sectionData(mail, row, u.section()) == null) {
      throw badUrl(url); // no such part
    }
    return new Resolved(row, u.section(), u.partial());
  }

  /** A section in FETCH BODY[section]'s grammar (RFC 3501 §6.4.5; RFC 5092 §5 enc-section is the same text). */
  private static FetchItem.Section section(String section) {
    ImapCommand c = ImapParser.parse(List.<Object>of("x FETCH 1 BODY.PEEK[" + section.toUpperCase(Locale.ROOT) + "]"),
        false);
    if (c instanceof ImapCommand.Fetch f && f.items().size() == 1 && f.items().get(0) instanceof FetchItem.Section s
        && s.partial() == null && !s.binary()) {
      return s;
    }
    throw ImapException.bad("not a section");
  }

  private static byte[] sectionData(MailStore mail, MessageRow row, FetchItem.Section sec) {
    return sec.of(MessageCache.get(mail.blobs(), row.blob()));
  }

  private static byte[] whole(MailStore mail, MessageRow row) {
    try (InputStream in = mail.open(row)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** %XX escapes (RFC 3986 §2.1) to UTF-8 text (RFC 5092 §3.2: names in the URL are UTF-8). */
  static String percentDecode(String s) {
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
      } else if (c < 0x80) {
        b.write(c);
      } else {
        byte[] u = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        b.write(u, 0, u.length);
      }
    }
    return b.toString(StandardCharsets.UTF_8);
  }

  /**
   * NO [BADURL url] (RFC 4469 §5, errata 4046: the bare URL, not a quoted string); url-resp-text is TEXT-CHAR but
   * "]", so a CR, LF, NUL, "]" or non-ASCII character of the client's URL is sent %-escaped.
   */
  static ImapException badUrl(String url) {
    if (url.isEmpty()) {
      return ImapException.bad("Empty CATENATE URL"); // url-resp-text is 1*TEXT-CHAR: nothing to echo
    }
    StringBuilder sb = new StringBuilder();
    String u = url.length() > MAX_URL ? url.substring(0, MAX_URL) : url;
    for (byte b : u.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (c < 0x20 || c == ']' || c >= 0x7f) {
        sb.append('%').append(String.format(Locale.ROOT, "%02X", c));
      } else {
        sb.append((char) c);
      }
    }
    return ImapException.no("BADURL " + sb, "CATENATE cannot resolve this URL");
  }
}
