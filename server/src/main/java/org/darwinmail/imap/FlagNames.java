package org.darwinmail.imap;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.darwinmail.store.Flags;
import org.darwinmail.store.MessageRow;

/** Flags on the wire (RFC 3501 §2.3.2): system flags as the store's bits, keywords as names. */
final class FlagNames {
  private FlagNames() {}

  /** A message's flags as a FETCH FLAGS list: system flags, keywords, then \Recent when it is recent in the view. */
  static String of(Selected s, MessageRow r) {
    List<String> f = new ArrayList<>(Flags.names(r.flags()));
    f.addAll(new TreeSet<>(r.keywords()));
    if (s != null && s.recent(r.uid())) {
      f.add("\\Recent");
    }
    return String.join(" ", f);
  }

  /** The FLAGS (or, when {@code permanent}, PERMANENTFLAGS) list of a mailbox with these keywords. */
  static String list(Set<String> keywords, boolean permanent) {
    StringBuilder sb = new StringBuilder("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for (String k : keywords) {
      sb.append(' ').append(k);
    }
    if (permanent) {
      sb.append(" \\*");
    }
    return sb.toString();
  }

  /** The system flags among {@code flags}, as the store's bits. */
  static int bits(Collection<String> flags) {
    int bits = 0;
    for (String f : flags) {
      bits |= Flags.bit(f);
    }
    return bits;
  }

  /** The keywords among {@code flags} (names without a backslash), without case duplicates. */
  static Set<String> keywords(Collection<String> flags) {
    Set<String> out = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    for (String f : flags) {
      if (!f.startsWith("\\")) {
        out.add(f);
      }
    }
    return out;
  }
}
