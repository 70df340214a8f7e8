package org.darwinmail.mime;

/**
 * Linear scans over header field values (RFC 5322 §3.2). Header values come from whoever sent the message, so
 * nothing here may cost more than one pass: a regex such as {@code \([^)]*\)} backtracks over a value of many
 * unclosed parentheses in time that grows with the square of its length (issue 23).
 */
public final class HeaderText {
  private HeaderText() {}

  /**
   * {@code value} with each comment (RFC 5322 §3.2.2; comments nest, a backslash quotes the next character)
   * replaced by one space and, when {@code dropQuoted}, each quoted string (§3.2.4) replaced by {@code ""}. An
   * unterminated comment or quoted string runs to the end of the value.
   */
  public static String strip(String value, boolean dropQuoted) {
    StringBuilder out = new StringBuilder(value.length());
    int depth = 0;
    boolean quoted = false;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '\\' && (depth > 0 || quoted)) {
        if (quoted && !dropQuoted) {
          out.append(c);
          if (i + 1 < value.length()) {
            out.append(value.charAt(i + 1));
          }
        }
        i++;
      } else if (quoted) {
        if (c == '"') {
          quoted = false;
          out.append(dropQuoted ? "\"\"" : "\"");
        } else if (!dropQuoted) {
          out.append(c);
        }
      } else if (c == '(') {
        if (depth++ == 0) {
          out.append(' ');
        }
      } else if (depth > 0) {
        if (c == ')') {
          depth--;
        }
      } else if (c == '"') {
        quoted = true;
        if (!dropQuoted) {
          out.append(c);
        }
      } else {
        out.append(c);
      }
    }
    if (quoted && dropQuoted) {
      out.append("\"\"");
    }
    return out.toString();
  }
}
