package org.darwinmail.pop3;

/** A command that cannot go on; the session sends {@link #reply()}. */
public class Pop3Exception extends RuntimeException {
  private final Reply reply;

  public Pop3Exception(Reply reply) {
    super(reply.text(), null, false, false);
    this.reply = reply;
  }

  public Reply reply() {
    return reply;
  }
}
