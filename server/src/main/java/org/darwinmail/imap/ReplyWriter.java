package org.darwinmail.imap;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where a command handler writes its responses: the connection's output, without the connection. Lines are gathered
 * and written when the command ends (or on {@link #flush}).
 */
interface ReplyWriter {
  /** One response line (CRLF appended). */
  void send(String line);

  /** One response built in bytes (it may hold literals), CRLF appended. */
  void send(byte[] response);

  /** Bytes after what was sent so far, as they are (no CRLF). */
  void sendBytes(byte[] bytes);

  /** The {@code size} bytes of {@code file} as the body of a literal whose "{size}" went out just before. */
  void sendFile(Path file, long size) throws IOException;

  /** Writes out what was gathered (a long FETCH should not pile up in memory). */
  void flush();

  /** Throws when the client has gone, so that a long loop stops. */
  void checkClient();

  /** The session id, for the log. */
  String id();

  default void ok(String tag, String text) {
    send(tag + " OK " + text);
  }
}
