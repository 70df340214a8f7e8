package org.darwinmail.imap;

import java.time.LocalDate;
import java.util.List;

/** A SEARCH key (RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ, RFC 8514 §4.2, RFC 8474 §6). */
public sealed interface SearchKey {
  record All() implements SearchKey {}

  record And(List<SearchKey> keys) implements SearchKey {}

  record Or(SearchKey a, SearchKey b) implements SearchKey {}

  record Not(SearchKey key) implements SearchKey {}

  /** A system flag bit set (or unset when {@code set} is false). */
  record Flag(int bit, boolean set) implements SearchKey {}

  record Keyword(String keyword, boolean set) implements SearchKey {}

  /** NEW = RECENT UNSEEN; OLD = NOT RECENT; RECENT. */
  record Recent(boolean set) implements SearchKey {}

  enum DateOp { BEFORE, ON, SINCE }

  /** On the internal date, or on the Date: header when {@code sent}. */
  record Date(DateOp op, LocalDate date, boolean sent) implements SearchKey {}

  record Size(boolean larger, long n) implements SearchKey {}

  /** A header field containing {@code value} (case-insensitive substring; empty matches any message having it). */
  record Header(String field, String value) implements SearchKey {}

  /** BODY (decoded body text) or TEXT (header and body) contains {@code value}. */
  record Text(String value, boolean withHeaders) implements SearchKey {}

  record Uids(SeqSet set) implements SearchKey {}

  record Seqs(SeqSet set) implements SearchKey {}

  record ModSeq(long modseq) implements SearchKey {}

  /** SAVEDBEFORE / SAVEDON / SAVEDSINCE (RFC 8514 §4.2), on the save date in UTC. */
  record SaveDate(DateOp op, LocalDate date) implements SearchKey {}

  /** SAVEDATESUPPORTED (RFC 8514 §4.2): every mailbox here keeps save dates, so every message matches. */
  record SaveDateSupported() implements SearchKey {}

  /** EMAILID ({@code email}) or THREADID (RFC 8474 §6). */
  record ObjectId(boolean email, String id) implements SearchKey {}
}
