package org.darwinmail.store;

/** A storage failure: callers answer with a temporary error (4xx / NO), never a lost message. */
public class StoreException extends RuntimeException {
  public StoreException(String message) {
    super(message);
  }

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
