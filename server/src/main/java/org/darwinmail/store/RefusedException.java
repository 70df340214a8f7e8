package org.darwinmail.store;

/** An administrative request the store refuses (exists already, not found, in use); the message says why. */
public class RefusedException extends RuntimeException {
  public RefusedException(String message) {
    super(message);
  }
}
