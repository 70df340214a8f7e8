package org.darwinmail.imap;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.darwinmail.net.FrameDecoder;
import org.darwinmail.net.Frames;

/**
 * Frames an IMAP connection (RFC 3501 §4.3, RFC 7888 LITERAL+). An IMAP command is a line, possibly ending in a
 * literal announcement "{n}" (synchronizing: the session answers "+ ..." first) or "{n+}" (non-synchronizing),
 * followed by n raw bytes and the rest of the command on the next line. States:
 * <pre>
 *   LINE           cursor at the start of a line; cut at LF, at most maxLine bytes
 *   LITERAL        inside announced literal bytes: handed out as {@link Frames.Chunk}s, then {@link LiteralEnd}
 *   DISCARD_LINE   a line was too long: dropping bytes up to the next LF
 *   DISCARD_CMD    a literal was refused after the client already sent it ("{n+}"): dropping its bytes and the
 *                  rest of the command (further lines and literals) without handing anything out
 * </pre>
 * The literal limit is small before login ({@link #authenticated}). After "tag STARTTLS" and "tag COMPRESS ..."
 * the framer pauses until the session has answered (what follows is framed differently).
 */
public final class ImapFramer extends FrameDecoder {
  /** One command line (without CRLF and without its trailing literal announcement). */
  public record Line(String text, long literal, boolean sync) {
    public boolean hasLiteral() {
      return literal >= 0;
    }
  }

  /** The end of a literal's bytes; the command goes on with the next {@link Line}. */
  public record LiteralEnd() {}

  /**
   * A literal larger than allowed, or the message of an APPEND while the store cannot take mail ({@code storageFull};
   * see {@link #refuseAppendWhen}). For "{n}" the client waits for "+", so nothing was sent and the framer is back at
   * a line start; for "{n+}" the bytes and the rest of the command are dropped. {@code perCommand}: not this
   * literal's size but the command's literals together before login ({@link #MAX_COMMAND_BEFORE_AUTH}) or their
   * number ({@link #MAX_LITERALS}); {@code limit} is then that bound.
   */
  public record LiteralRefused(long size, long limit, boolean sync, boolean storageFull, boolean perCommand) {
    public LiteralRefused(long size, long limit, boolean sync) {
      this(size, limit, sync, false, false);
    }
  }

  /**
   * The bytes of all the literals of one command before login (issue 19): the session holds them in the heap (it
   * spools nothing for an unauthenticated client), so their sum is bounded, not only each one.
   */
  public static final long MAX_COMMAND_BEFORE_AUTH = 1024 * 1024;
  /**
   * The literals of one command kept in the heap, in all (issue 19: 200 literals of 256 KB each were 50 MB a
   * connection): after login, a literal over {@link #MEMORY_LITERAL} or one that would pass this budget is spooled
   * by ImapSession to a staged blob instead (APPEND and CATENATE read it from there; as a string argument it is
   * BAD); before login nothing is spooled and the framer refuses a command past the budget
   * ({@link #MAX_COMMAND_BEFORE_AUTH}).
   */
  static final long MEMORY_BUDGET = MAX_COMMAND_BEFORE_AUTH;
  /** The largest literal kept in the heap (and so the longest string argument sent as a literal). */
  static final long MEMORY_LITERAL = 64 * 1024;
  /** The literals of one command (MULTIAPPEND and CATENATE send one per message or part). */
  public static final int MAX_LITERALS = 100;

  /** A line over the limit; {@code tag} is its first word when it looked like a tag. */
  public record TooLong(String tag, int limit) {}

  private enum Mode { LINE, LITERAL, DISCARD_LINE, DISCARD_CMD }

  private static final int CHUNK = 64 * 1024;
  private final int maxLine;
  private final long maxLiteral;
  private final long maxLiteralBeforeAuth;
  private volatile boolean authenticated;
  private volatile java.util.function.BooleanSupplier storageFull = () -> false;
  private Mode mode = Mode.LINE;
  private long remaining;
  private boolean endPending;
  private long commandBytes; // the literals announced so far in the command being framed
  private int commandLiterals;
  private boolean continuation; // the next line continues a command (after a literal)
  private String longTag;

  public ImapFramer(int maxLine, long maxLiteral, long maxLiteralBeforeAuth) {
    this.maxLine = maxLine;
    this.maxLiteral = maxLiteral;
    this.maxLiteralBeforeAuth = maxLiteralBeforeAuth;
  }

  /** After login the large literal limit applies (APPEND). */
  public void authenticated() {
    authenticated = true;
  }

  /**
   * While {@code full} holds (a full disk), the literals of APPEND are refused before they are sent ("{n}": a NO
   * instead of the "+") or dropped ("{n+}"): the client does not upload a message the store cannot keep.
   */
  public void refuseAppendWhen(java.util.function.BooleanSupplier full) {
    storageFull = full;
  }

  public long literalLimit() {
    return authenticated ? maxLiteral : maxLiteralBeforeAuth;
  }

  @Override
  protected boolean hasPendingFrame() {
    return endPending;
  }

  @Override
  protected Object decodeOne(ByteBuf in) {
    if (endPending) {
      endPending = false;
      return new LiteralEnd();
    }
    return switch (mode) {
      case LINE -> line(in);
      case LITERAL -> literal(in);
      case DISCARD_LINE -> discardLine(in);
      case DISCARD_CMD -> discardCommand(in);
    };
  }

  private Object line(ByteBuf in) {
    int lf = findLf(in, maxLine);
    if (lf < 0) {
      if (in.readableBytes() >= maxLine) {
        int n = Math.min(in.readableBytes(), 64);
        String head = in.toString(in.readerIndex(), n, StandardCharsets.US_ASCII);
        int sp = head.indexOf(' ');
        longTag = continuation ? null : sp > 0 ? head.substring(0, sp) : null;
        continuation = false;
        mode = Mode.DISCARD_LINE;
        in.skipBytes(in.readableBytes());
      }
      return null;
    }
    int start = in.readerIndex();
    int end = lf > start && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    String text = decode(in, start, end - start);
    in.readerIndex(lf + 1);
    // A literal announcement ends the line: "{" digits ["+"] "}" (RFC 3501 §9 literal, RFC 7888 §3).
    if (text.endsWith("}")) {
      int open = text.lastIndexOf('{');
      if (open >= 0) {
        String inner = text.substring(open + 1, text.length() - 1);
        boolean sync = !inner.endsWith("+");
        String digits = sync ? inner : inner.substring(0, inner.length() - 1);
        if (!digits.isEmpty() && digits.length() <= 12 && digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
          long n = Long.parseLong(digits);
          String before = text.substring(0, open);
          boolean full = authenticated && !continuation && isAppend(before) && storageFull.getAsBoolean();
          if (!continuation) {
            commandBytes = 0;
            commandLiterals = 0;
          }
          commandLiterals++;
          boolean tooMany = commandLiterals > MAX_LITERALS;
          boolean overBudget = !authenticated && commandBytes + n > MAX_COMMAND_BEFORE_AUTH;
          if (n > literalLimit() || full || tooMany || overBudget) {
            continuation = false;
            if (!sync) {
              remaining = n;
              mode = Mode.DISCARD_CMD;
            }
            boolean perCommand = !full && n <= literalLimit();
            long limit = !perCommand ? literalLimit() : tooMany ? MAX_LITERALS : MAX_COMMAND_BEFORE_AUTH;
            return new Refused(before, new LiteralRefused(n, limit, sync, full, perCommand));
          }
          commandBytes += n;
          continuation = true;
          remaining = n;
          if (n > 0) {
            mode = Mode.LITERAL;
          } else {
            endPending = true;
          }
          return new Line(before, n, sync);
        }
      }
    }
    boolean first = !continuation;
    continuation = false;
    if (first && pausesAfter(text)) {
      pause();
    }
    return new Line(text, -1, false);
  }

  /**
   * A line's text: UTF-8 (RFC 9051, RFC 6855), or ISO-8859-1 when the bytes are not UTF-8 (some clients send
   * search strings in their local charset without CHARSET; better to match them than to mangle them).
   */
  static String decode(ByteBuf in, int start, int len) {
    byte[] b = new byte[len];
    in.getBytes(start, b);
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return new String(b, StandardCharsets.ISO_8859_1);
    }
  }

  /** The text before a refused literal travels with the refusal (the session needs the tag). */
  public record Refused(String text, LiteralRefused refusal) {}

  /** Whether a command's first line is "tag APPEND ..." or a REPLACE (RFC 8508), which appends too. */
  static boolean isAppend(String text) {
    String[] w = text.split(" ", 4);
    return w.length >= 2 && (w[1].equalsIgnoreCase("APPEND") || w[1].equalsIgnoreCase("REPLACE")
        || w.length >= 3 && w[1].equalsIgnoreCase("UID") && w[2].equalsIgnoreCase("REPLACE"));
  }

  /** STARTTLS and COMPRESS change how the following bytes are framed (RFC 3501 §6.2.1, RFC 4978 §3). */
  static boolean pausesAfter(String text) {
    int sp = text.indexOf(' ');
    if (sp < 0) {
      return false;
    }
    String rest = text.substring(sp + 1).toUpperCase(Locale.ROOT);
    return rest.equals("STARTTLS") || rest.startsWith("COMPRESS ");
  }

  private Object literal(ByteBuf in) {
    int n = (int) Math.min(Math.min(in.readableBytes(), remaining), CHUNK);
    if (n == 0) {
      return null;
    }
    byte[] out = new byte[n];
    in.readBytes(out);
    remaining -= n;
    if (remaining == 0) {
      mode = Mode.LINE;
      endPending = true;
    }
    return new Frames.Chunk(out);
  }

  private Object discardLine(ByteBuf in) {
    int lf = findLf(in, in.readableBytes());
    if (lf < 0) {
      in.skipBytes(in.readableBytes());
      return null;
    }
    in.readerIndex(lf + 1);
    mode = Mode.LINE;
    return new TooLong(longTag, maxLine);
  }

  /** Drops a refused non-synchronizing literal, then lines up to the end of the command. */
  private Object discardCommand(ByteBuf in) {
    if (remaining > 0) {
      int n = (int) Math.min(in.readableBytes(), remaining);
      in.skipBytes(n);
      remaining -= n;
      return null;
    }
    int lf = findLf(in, in.readableBytes());
    if (lf < 0) {
      in.skipBytes(in.readableBytes());
      return null;
    }
    int start = in.readerIndex();
    int end = lf > start && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    int from = Math.max(start, end - 40);
    String tail = in.toString(from, end - from, StandardCharsets.US_ASCII);
    in.readerIndex(lf + 1);
    if (tail.matches(".*\\{\\d{1,12}\\+?}")) {
      remaining = Long.parseLong(tail.substring(tail.lastIndexOf('{') + 1).replaceAll("[^0-9]", ""));
      return null;
    }
    mode = Mode.LINE;
    return null;
  }
}
