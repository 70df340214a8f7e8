package org.darwinmail.imap;

import org.darwinmail.mime.MimePart;

/**
 * The base subject of RFC 5256 §2.1, which SORT SUBJECT compares (and THREAD=ORDEREDSUBJECT groups by): the
 * subject without "Re:", "Fwd:", "Fw:", "[blob]" leaders, "(fwd)" trailers and "[fwd: ...]" wrappers.
 *
 * <p>The subject is the sender's text, so the steps work on two cursors over one string and never rescan what they
 * passed: the whole extraction is linear in the subject's length (issue 23; a loop of regex replacements was
 * quadratic in the number of leaders). Keywords match case-insensitively (RFC 5234 §2.3).
 */
final class BaseSubject {
  private BaseSubject() {}

  /** The base subject, in i;unicode-casemap's titlecased canonical form (RFC 5051) for comparison; "" for none. */
  static String of(String raw) {
    return extract(raw).base();
  }

  /**
   * A base subject and whether extracting it removed a subj-refwd, a "(fwd)" subj-trailer or a subj-fwd-hdr: the
   * message is a reply or a forward (RFC 5256 §3 REFERENCES, step 5 compares that).
   */
  record Extracted(String base, boolean reply) {}

  static Extracted extract(String raw) {
    if (raw == null) {
      return new Extracted("", false);
    }
    boolean reply = false;
    String t = spaces(MimePart.decodeWords(raw));
    int b = 0;
    int e = t.length();
    while (true) {
      // (2) remove trailing subj-trailer: "(fwd)" / WSP
      while (e > b) {
        if (t.charAt(e - 1) == ' ') {
          e--;
        } else if (e - b >= 5 && t.regionMatches(true, e - 5, "(fwd)", 0, 5)) {
          e -= 5;
          reply = true;
        } else {
          break;
        }
      }
      // (3)-(5) remove leading subj-leader = (*subj-blob subj-refwd) / WSP, and a subj-blob that leaves text
      while (b < e) {
        if (t.charAt(b) == ' ') {
          b++;
          continue;
        }
        int p = b;
        int lastBlob = -1;
        for (int q = blob(t, p, e); q >= 0; q = blob(t, p, e)) {
          lastBlob = p;
          p = q;
        }
        int q = refwd(t, p, e);
        if (q >= 0) {
          b = q;
          reply = true;
        } else if (lastBlob >= 0) {
          // (4), repeated by (5): each blob goes while what follows it is not empty; what follows the last one
          // cannot start a leader (refwd failed there), so the loop ends after this step
          b = p < e ? p : lastBlob;
          if (b == lastBlob) {
            break;
          }
        } else {
          break;
        }
      }
      // (6) subj-fwd-hdr "[fwd:" ... subj-fwd-trl "]": remove both and go back to (2)
      if (e - b >= 6 && t.regionMatches(true, b, "[fwd:", 0, 5) && t.charAt(e - 1) == ']') {
        b += 5;
        e--;
        reply = true;
        continue;
      }
      return new Extracted(Casemap.key(t.substring(b, e)), reply);
    }
  }

  /** (1) tabs and line breaks as spaces, runs of spaces as one. */
  private static String spaces(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
      if (!space) {
        out.append(c);
      } else if (out.isEmpty() || out.charAt(out.length() - 1) != ' ') {
        out.append(' ');
      }
    }
    return out.toString();
  }

  /** subj-blob = "[" *BLOBCHAR "]" *WSP at {@code p}: the index after it, or -1. */
  private static int blob(String t, int p, int e) {
    if (p >= e || t.charAt(p) != '[') {
      return -1;
    }
    int q = p + 1;
    while (q < e && t.charAt(q) != '[' && t.charAt(q) != ']') {
      q++;
    }
    if (q >= e || t.charAt(q) != ']') {
      return -1;
    }
    q++;
    while (q < e && t.charAt(q) == ' ') {
      q++;
    }
    return q;
  }

  /** subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" at {@code p}: the index after it, or -1. */
  private static int refwd(String t, int p, int e) {
    int q;
    if (e - p >= 2 && t.regionMatches(true, p, "re", 0, 2)) {
      q = p + 2;
    } else if (e - p >= 2 && t.regionMatches(true, p, "fw", 0, 2)) {
      q = p + 2;
      if (q < e && (t.charAt(q) == 'd' || t.charAt(q) == 'D')) {
        q++;
      }
    } else {
      return -1;
    }
    while (q < e && t.charAt(q) == ' ') {
      q++;
    }
    int afterBlob = blob(t, q, e);
    if (afterBlob >= 0) {
      q = afterBlob;
    }
    return q < e && t.charAt(q) == ':' ? q + 1 : -1;
  }
}
