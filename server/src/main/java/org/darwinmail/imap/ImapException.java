package org.darwinmail.imap;

/**
 * A command that cannot go on, mapped one-to-one to a tagged reply: BAD (syntax, protocol misuse) or NO (refused),
 * with an optional response code (RFC 5530) such as {@code TRYCREATE}, {@code NONEXISTENT} or {@code OVERQUOTA}.
 */
public final class ImapException extends RuntimeException {
  public enum Kind { BAD, NO }

  private final Kind kind;
  private final String code;

  public ImapException(Kind kind, String code, String text) {
    super(text, null, false, false);
    this.kind = kind;
    this.code = code;
  }

  public static ImapException bad(String text) {
    return new ImapException(Kind.BAD, null, text);
  }

  public static ImapException no(String code, String text) {
    return new ImapException(Kind.NO, code, text);
  }

  public Kind kind() {
    return kind;
  }

  public String code() {
    return code;
  }

  /** The reply after the tag: "NO [CODE] text". */
  public String reply() {
    return kind + (code != null ? " [" + code + "] " : " ") + getMessage();
  }
}
