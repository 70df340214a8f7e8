package org.darwinmail.imap;

import java.util.List;
import java.util.Locale;

/**
 * A cursor over one command as the framer delivered it: text segments with literals between them. No I/O; every
 * malformed input ends in {@link ImapException} (BAD). Grammar references are to RFC 3501 §9 / RFC 9051 §9.
 */
final class ImapReader {
  static final char LITERAL = '\uFFFF';
  static final char END = '\0';
  private final List<Object> parts;
  private int part;
  private int pos;

  ImapReader(List<Object> parts) {
    // The sentinels are characters no valid command contains (RFC 3501 §9: CHAR8 excludes NUL; U+FFFF is a
    // noncharacter); a client that sends them anyway gets U+FFFD, so they can never be taken for a literal or the end.
    this.parts = parts.stream().map(p -> p instanceof String s && (s.indexOf(LITERAL) >= 0 || s.indexOf(END) >= 0)
        ? (Object) s.replace(LITERAL, '\uFFFD').replace(END, '\uFFFD') : p).toList();
  }

  private String text() {
    return part < parts.size() && parts.get(part) instanceof String s ? s : "";
  }

  /** The next character, {@link #LITERAL} before a literal, {@link #END} at the end. */
  char peek() {
    String t = text();
    if (pos < t.length()) {
      return t.charAt(pos);
    }
    if (part + 1 < parts.size() && parts.get(part + 1) instanceof ImapLiteral) {
      return LITERAL;
    }
    return END;
  }

  boolean atEnd() {
    return peek() == END;
  }

  void end() {
    if (!atEnd()) {
      throw ImapException.bad("Unexpected characters at the end of the command");
    }
  }

  char next() {
    char c = peek();
    if (c == END || c == LITERAL) {
      throw ImapException.bad("Unexpected end of command");
    }
    pos++;
    return c;
  }

  boolean tryChar(char c) {
    if (peek() == c) {
      pos++;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!tryChar(c)) {
      throw ImapException.bad("Expected '" + c + "'");
    }
  }

  void sp() {
    expect(' ');
  }

  /** Is the rest of the current text starting with {@code word} (case-insensitive) followed by a delimiter? */
  boolean tryWord(String word) {
    String t = text();
    int e = pos + word.length();
    if (e <= t.length() && t.regionMatches(true, pos, word, 0, word.length())
        && (e == t.length() || " ()[]".indexOf(t.charAt(e)) >= 0)) {
      pos = e;
      return true;
    }
    return false;
  }

  /** An atom (RFC 3501 ATOM-CHAR, plus ']' when {@code bracket} is allowed). */
  String atom(boolean bracketOk) {
    String t = text();
    int s = pos;
    while (pos < t.length()) {
      char c = t.charAt(pos);
      if (c <= ' ' || c == '(' || c == ')' || c == '{' || c == '"' || c == 0x7f
          || (c == ']' || c == '[') && !bracketOk) {
        break;
      }
      pos++;
    }
    if (pos == s) {
      throw ImapException.bad("Expected an atom");
    }
    return t.substring(s, pos);
  }

  String atom() {
    return atom(false);
  }

  String upperAtom() {
    return atom().toUpperCase(Locale.ROOT);
  }

  /** astring = 1*ASTRING-CHAR / string (RFC 3501 §9). */
  String astring() {
    char c = peek();
    if (c == '"' || c == LITERAL) {
      return string();
    }
    return atom(true);
  }

  /** A list-mailbox: atom chars plus the wildcards % and * (RFC 3501 §9). */
  String listMailbox() {
    char c = peek();
    if (c == '"' || c == LITERAL) {
      return string();
    }
    return atom(true);
  }

  /** quoted / literal. */
  String string() {
    char c = peek();
    if (c == LITERAL) {
      ImapLiteral l = literal();
      if (l.bytes() == null) {
        // spooled (ImapFramer.MEMORY_LITERAL, MEMORY_BUDGET): too long for a string argument
        throw ImapException.bad("Literal too large for this argument (at most " + ImapFramer.MEMORY_LITERAL
            + " bytes, " + ImapFramer.MEMORY_BUDGET + " in all the literals of one command)");
      }
      return l.text();
    }
    if (c != '"') {
      throw ImapException.bad("Expected a quoted string or a literal");
    }
    pos++;
    String t = text();
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (pos >= t.length()) {
        throw ImapException.bad("Unterminated quoted string");
      }
      char d = t.charAt(pos++);
      if (d == '"') {
        return sb.toString();
      }
      if (d == '\\') {
        if (pos >= t.length()) {
          throw ImapException.bad("Unterminated quoted string");
        }
        d = t.charAt(pos++);
        if (d != '"' && d != '\\') {
          throw ImapException.bad("Bad escape in quoted string");
        }
      }
      sb.append(d);
    }
  }

  /** The literal that comes next (after the current text segment). */
  ImapLiteral literal() {
    if (peek() != LITERAL) {
      throw ImapException.bad("Expected a literal");
    }
    part++;
    ImapLiteral l = (ImapLiteral) parts.get(part);
    part++;
    pos = 0;
    return l;
  }

  String nstring() {
    if (tryWord("NIL")) {
      return null;
    }
    return string();
  }

  long number() {
    String t = text();
    int s = pos;
    while (pos < t.length() && Character.isDigit(t.charAt(pos)) && pos - s < 20) {
      pos++;
    }
    if (pos == s || pos - s > 19) {
      throw ImapException.bad("Expected a number");
    }
    try {
      return Long.parseLong(t, s, pos, 10);
    } catch (NumberFormatException e) {
      throw ImapException.bad("Number too large");
    }
  }

  long nzNumber() {
    long n = number();
    if (n == 0) {
      throw ImapException.bad("Expected a non-zero number");
    }
    return n;
  }

  /** sequence-set (RFC 3501 §9), or "$" (RFC 5182 §2). */
  SeqSet seqSet() {
    if (tryChar('$')) {
      return SeqSet.SAVED;
    }
    SeqSet.Builder b = new SeqSet.Builder();
    do {
      long lo = seqNumber();
      long hi = tryChar(':') ? seqNumber() : lo;
      b.add(lo, hi);
      if (b.size() > 100_000) {
        throw ImapException.bad("Sequence set too long");
      }
    } while (tryChar(','));
    return b.build();
  }

  private long seqNumber() {
    if (tryChar('*')) {
      return SeqSet.STAR;
    }
    long n = nzNumber();
    if (n > 0xFFFFFFFFL) {
      throw ImapException.bad("Sequence number out of range");
    }
    return n;
  }

  /** Remaining raw text of the current segment (for diagnostics). */
  String rest() {
    String t = text();
    return pos < t.length() ? t.substring(pos) : "";
  }
}
