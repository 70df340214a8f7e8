package org.darwinmail.errors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;

/**
 * Errors in plain words for people (the CLI's stderr, queue entries, bounces), never a Java class name (issue 23);
 * the stack trace goes to the log.
 */
public final class Errors {
  private Errors() {}

  /** What went wrong with a file or a connection, naming the file, without the exception's class. */
  public static String describe(IOException e) {
    return e instanceof java.nio.file.FileSystemException f && f.getFile() != null ? reason(e) + ": " + f.getFile()
        : reason(e);
  }

  /** What went wrong with a file or a connection, in plain words, without the file or the exception's class. */
  public static String reason(IOException e) {
    String m = e.getMessage();
    return switch (e) {
      case java.nio.file.AccessDeniedException x -> "permission denied";
      case java.nio.file.NoSuchFileException x -> "no such file or folder";
      case java.nio.file.FileAlreadyExistsException x -> "already exists";
      case java.nio.file.FileSystemException x when x.getReason() != null -> x.getReason().toLowerCase(Locale.ROOT);
      case java.nio.file.FileSystemException x -> "input/output error"; // its message is only the file
      case java.net.ConnectException x -> "connection refused" + (m == null ? "" : " (" + m + ")");
      case java.net.SocketTimeoutException x -> "connection timed out";
      case java.net.UnknownHostException x -> "host not found" + (m == null ? "" : ": " + m);
      case java.io.EOFException x -> "the connection closed unexpectedly";
      default -> m == null || m.isBlank() ? "input/output error" : m;
    };
  }

  /**
   * The message of an unexpected error for a person: the outermost message that is not only its cause's class and
   * text (what {@code new X(cause)} makes), file and network errors in plain words; "internal error" when no
   * message says anything.
   */
  public static String plain(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String m = t.getMessage();
      boolean wrapper = t.getCause() != null && (m == null || m.equals(t.getCause().toString()));
      if (wrapper) {
        continue;
      }
      if (t instanceof IOException io) {
        return describe(io);
      }
      if (t instanceof UncheckedIOException u) {
        return m + ": " + describe(u.getCause());
      }
      if (m != null && !m.isBlank()) {
        return m;
      }
    }
    return "internal error (the log has the details)";
  }
}
