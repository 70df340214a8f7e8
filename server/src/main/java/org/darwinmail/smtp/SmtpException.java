package org.darwinmail.smtp;

/** A command that cannot go on; the session sends {@link #reply()}. */
public class SmtpException extends RuntimeException {
  private final Reply reply;

  public SmtpException(Reply reply) {
    super(reply.text(), null, false, false);
    this.reply = reply;
  }

  public Reply reply() {
    return reply;
  }
}
