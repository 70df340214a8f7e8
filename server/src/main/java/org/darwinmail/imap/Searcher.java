package org.darwinmail.imap;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.darwinmail.mime.HeaderText;
import org.darwinmail.mime.MimePart;
import org.darwinmail.store.MessageRow;

/**
 * Evaluates SEARCH keys (RFC 3501 §6.4.4) on one message. Strings match as case-insensitive substrings of the
 * decoded text (RFC 2047 headers, transfer-decoded and charset-decoded bodies); dates compare by day, the internal
 * date in UTC and the Date: header in its own zone (RFC 3501: "disregarding time and timezone").
 */
final class Searcher {
  /** What a key can look at for one message; {@code part} parses the message only when a key needs it. */
  record Subject(MessageRow row, long msn, long maxMsn, long maxUid, boolean recent, Collection<Long> saved,
      Supplier<MimePart> part) {}

  private Searcher() {}

  static boolean matches(SearchKey k, Subject s) {
    return switch (k) {
      case SearchKey.All a -> true;
      case SearchKey.And a -> a.keys().stream().allMatch(x -> matches(x, s));
      case SearchKey.Or o -> matches(o.a(), s) || matches(o.b(), s);
      case SearchKey.Not n -> !matches(n.key(), s);
      case SearchKey.Flag f -> s.row().has(f.bit()) == f.set();
      case SearchKey.Keyword w -> s.row().keywords().stream().anyMatch(x -> x.equalsIgnoreCase(w.keyword()))
          == w.set();
      case SearchKey.Recent r -> s.recent() == r.set();
      case SearchKey.Date d -> compare(d, d.sent() ? sentDay(s) : s.row().internalDate().atZone(ZoneOffset.UTC)
          .toLocalDate());
      case SearchKey.Size z -> z.larger() ? s.row().size() > z.n() : s.row().size() < z.n();
      case SearchKey.Header h -> header(h, s.part().get());
      case SearchKey.Text t -> text(t, s.part().get());
      case SearchKey.Uids u -> u.set().saved() ? s.saved().contains(s.row().uid())
          : u.set().contains(s.row().uid(), s.maxUid());
      case SearchKey.Seqs q -> q.set().saved() ? s.saved().contains(s.row().uid())
          : q.set().contains(s.msn(), s.maxMsn());
      case SearchKey.ModSeq m -> s.row().modseq() >= m.modseq();
      case SearchKey.SaveDate d -> compare(new SearchKey.Date(d.op(), d.date(), false),
          s.row().saveDate().atZone(ZoneOffset.UTC).toLocalDate());
      case SearchKey.SaveDateSupported x -> true;
      case SearchKey.ObjectId o -> o.email() && o.id().equals(ObjectIds.emailId(s.row())); // THREADID is NIL
    };
  }

  /** Does the search use MODSEQ (then untagged SEARCH carries "(MODSEQ n)", RFC 7162 §3.1.5)? */
  static boolean usesModSeq(SearchKey k) {
    return switch (k) {
      case SearchKey.ModSeq m -> true;
      case SearchKey.And a -> a.keys().stream().anyMatch(Searcher::usesModSeq);
      case SearchKey.Or o -> usesModSeq(o.a()) || usesModSeq(o.b());
      case SearchKey.Not n -> usesModSeq(n.key());
      default -> false;
    };
  }

  private static boolean compare(SearchKey.Date d, LocalDate day) {
    if (day == null) {
      return false;
    }
    return switch (d.op()) {
      case BEFORE -> day.isBefore(d.date());
      case ON -> day.isEqual(d.date());
      case SINCE -> !day.isBefore(d.date());
    };
  }

  private static LocalDate sentDay(Subject s) {
    ZonedDateTime z = parseDate(s.part().get().header("Date"));
    return z == null ? s.row().internalDate().atZone(ZoneOffset.UTC).toLocalDate() : z.toLocalDate();
  }

  /** RFC 5322 §3.3 date-time forms (month names in any case, as in the obsolete syntax's practice), built once. */
  private static final List<DateTimeFormatter> HEADER_DATES = java.util.stream.Stream.of("d MMM yyyy HH:mm:ss Z",
      "d MMM yyyy HH:mm Z", "d MMM yy HH:mm:ss Z").map(p -> new java.time.format.DateTimeFormatterBuilder()
      .parseCaseInsensitive().appendPattern(p).toFormatter(Locale.ROOT)).toList();

  /** An RFC 5322 date, tolerating comments and missing day names; null when unreadable. */
  static ZonedDateTime parseDate(String v) {
    if (v == null) {
      return null;
    }
    String c = HeaderText.strip(v, false).replaceAll("\\s+", " ").trim();
    if (c.indexOf(',') >= 0) {
      c = c.substring(c.indexOf(',') + 1).trim();
    }
    c = c.replaceAll(" (UT|GMT|Z)$", " +0000").replaceAll(" EST$", " -0500").replaceAll(" EDT$", " -0400")
        .replaceAll(" PST$", " -0800").replaceAll(" PDT$", " -0700");
    for (DateTimeFormatter f : HEADER_DATES) {
      try {
        return ZonedDateTime.parse(c, f);
      } catch (RuntimeException e) {
        // next
      }
    }
    return null;
  }

  static Instant sentInstant(MimePart p, Instant fallback) {
    ZonedDateTime z = parseDate(p.header("Date"));
    return z == null ? fallback : z.toInstant();
  }

  private static boolean header(SearchKey.Header h, MimePart p) {
    String needle = h.value().toLowerCase(Locale.ROOT);
    List<String> values = p.headers(h.field());
    if (values.isEmpty()) {
      return false;
    }
    boolean address = ADDRESS_FIELDS.contains(h.field().toLowerCase(Locale.ROOT));
    for (String v : values) {
      if (needle.isEmpty() || contains(MimePart.decodeWords(v).toLowerCase(Locale.ROOT), needle)
          || contains(v.toLowerCase(Locale.ROOT), needle)
          || address && contains(addressText(v).toLowerCase(Locale.ROOT), needle)) {
        return true;
      }
    }
    return false;
  }

  private static final java.util.Set<String> ADDRESS_FIELDS = java.util.Set.of("from", "sender", "reply-to", "to",
      "cc", "bcc", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc");

  /**
   * The addresses of an address field as "Name <local@domain>" each, comments and folding whitespace gone (RFC 5322
   * §3.4.1 allows CFWS around the "@" and inside the local part): SEARCH FROM "user@domain.org" finds
   * "<user (c)@ (c) domain.org>" (RFC 3501 §6.4.4: the string is matched against the header's contents).
   */
  private static String addressText(String v) {
    StringBuilder sb = new StringBuilder();
    try {
      for (org.apache.james.mime4j.dom.address.Mailbox mb : MimePart.addresses(v).flatten()) {
        if (mb.getName() != null && !mb.getName().isEmpty()) {
          sb.append(mb.getName()).append(' ');
        }
        sb.append('<').append(mb.getLocalPart());
        if (mb.getDomain() != null && !mb.getDomain().isEmpty()) {
          sb.append('@').append(mb.getDomain());
        }
        sb.append(">, ");
      }
    } catch (RuntimeException e) {
      // unreadable: the raw value was matched already
    }
    return sb.toString();
  }

  private static boolean text(SearchKey.Text t, MimePart p) {
    String needle = t.value().toLowerCase(Locale.ROOT);
    if (t.withHeaders() && contains(p.lowerHeaderText(), needle)) {
      return true;
    }
    return contains(p.lowerText(), needle);
  }

  /** Needles up to this long use {@link String#contains}: its worst case is this many comparisons per character. */
  private static final int SHORT_NEEDLE = 64;

  /**
   * Is {@code needle} in {@code text}? Both come from users (a search key up to a line long, a message body up to
   * the size limit), and {@link String#contains} compares naively: "aaa...ab" in "aaa...a" costs their lengths
   * multiplied (issue 23). Long needles go through Knuth-Morris-Pratt, linear in both.
   */
  static boolean contains(String text, String needle) {
    int m = needle.length();
    if (m <= SHORT_NEEDLE) {
      return text.contains(needle);
    }
    int[] fail = new int[m]; // fail[i]: length of the longest proper border of needle[0..i]
    for (int i = 1, k = 0; i < m; i++) {
      while (k > 0 && needle.charAt(i) != needle.charAt(k)) {
        k = fail[k - 1];
      }
      if (needle.charAt(i) == needle.charAt(k)) {
        k++;
      }
      fail[i] = k;
    }
    for (int i = 0, k = 0; i < text.length(); i++) {
      while (k > 0 && text.charAt(i) != needle.charAt(k)) {
        k = fail[k - 1];
      }
      if (text.charAt(i) == needle.charAt(k) && ++k == m) {
        return true;
      }
    }
    return false;
  }
}
