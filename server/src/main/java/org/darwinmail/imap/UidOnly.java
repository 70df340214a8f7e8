package org.darwinmail.imap;

import org.darwinmail.imap.ImapCommand.*;

/**
 * RFC 9586 §3 (UIDONLY): once enabled, a command that names messages by sequence number (the non-UID forms of FETCH,
 * STORE, SEARCH, SORT, THREAD, COPY, MOVE and REPLACE, or a sequence-set search key) is refused with a tagged BAD
 * carrying [UIDREQUIRED]; EXPUNGE names no message and stays allowed, and so does "$" (RFC 5182: a saved result,
 * no number written by the client).
 */
final class UidOnly {
  /** RFC 9586 §3 / §4: the tagged BAD with the UIDREQUIRED response code. */
  static final String REFUSAL = "BAD [UIDREQUIRED] Message sequence numbers are not allowed after ENABLE UIDONLY";

  private UidOnly() {}

  /** Whether {@code c} names messages by sequence number. */
  static boolean usesSequenceNumbers(ImapCommand c) {
    return switch (c) {
      case Fetch x -> !x.uid();
      case Store x -> !x.uid();
      case Copy x -> !x.uid();
      case Replace x -> !x.uid();
      case Search x -> !x.uid() || hasSeqs(x.key());
      case Sort x -> !x.uid() || hasSeqs(x.key());
      case ThreadMessages x -> !x.uid() || hasSeqs(x.key());
      default -> false;
    };
  }

  /** Whether a search program holds a sequence-set key (RFC 9586 §3: "including ... in SEARCH criteria"). */
  static boolean hasSeqs(SearchKey k) {
    return switch (k) {
      case SearchKey.Seqs s -> !s.set().saved();
      case SearchKey.And a -> a.keys().stream().anyMatch(UidOnly::hasSeqs);
      case SearchKey.Or o -> hasSeqs(o.a()) || hasSeqs(o.b());
      case SearchKey.Not n -> hasSeqs(n.key());
      default -> false;
    };
  }
}
