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

  /**
   * The refusal of APPEND while the store cannot take mail (README, "A full disk"). RFC 5530 §3: UNAVAILABLE is a
   * temporary failure of a subsystem, here storage, which is what this is: it ends without the user doing
   * anything, and a client may try again later. Not OVERQUOTA, which tells the user their own quota is used up
   * (deleting their mail would not help), nor LIMIT (a fixed implementation limit) or SERVERBUG.
   */
  static ImapException storageFull() {
    return no("UNAVAILABLE", "Mail storage is full, try again later");
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
