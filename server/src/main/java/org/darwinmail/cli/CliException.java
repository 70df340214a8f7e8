package org.darwinmail.cli;

/** A command that cannot be carried out; the message is the one line printed on stderr (exit status 1). */
public class CliException extends RuntimeException {
  public CliException(String message) {
    super(message);
  }
}
