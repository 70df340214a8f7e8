package org.darwinmail.net;

/** Frames shared by the protocol framers and the events the runner hands a session. */
public final class Frames {
  private Frames() {}

  /** A command line without its CRLF (decoded as UTF-8; undecodable bytes become U+FFFD). */
  public record Line(String text) {}

  /** A line longer than the limit: its bytes were dropped up to the next LF. */
  public record LineTooLong(int limit) {}

  /** Raw message bytes (after dot-unstuffing in SMTP DATA). */
  public record Chunk(byte[] bytes) {}

  /** The end of SMTP DATA ("CRLF.CRLF" seen); bare CR / LF seen in the data are reported here. */
  public record DataEnd(boolean bareLineEnding) {}

  /** The end of one BDAT chunk (RFC 3030). */
  public record ChunkEnd() {}

  /** The connection is open. */
  public record Connected() {}

  /** No whole frame arrived (and no output was taken) for the idle timeout: the command deadline. */
  public record Idle() {}

  /** The session has lasted its maximum lifetime. */
  public record Expired() {}

  /** The connection is closed (by either side). */
  public record Closed() {}
}
