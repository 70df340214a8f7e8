package org.darwinmail.auth;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The SASL responses every protocol decodes the same way (ARCHITECTURE.md, "The abuse guard and login throttling"):
 * PLAIN (RFC 4616 §2: {@code [authzid] NUL authcid NUL passwd}) and the fields of LOGIN (each one base64 line).
 * Pure: no I/O, no state; bounded; a response that is not acceptable is a {@link Refused} with its reason, which the
 * protocol renders in its own words. Whether the credentials are right is {@code guard.Logins}' business.
 */
public final class Sasl {
  /** Octets per field (authzid, authcid, passwd): RFC 4616 §2 requires at least 255; a mail address is at most 254. */
  public static final int MAX_FIELD = 1024;
  /** Base64 characters of the longest response: three fields and two NULs. */
  public static final int MAX_RESPONSE = 4 * ((3 * MAX_FIELD + 2 + 2) / 3);

  private Sasl() {}

  /** Why a response was refused. */
  public enum Failure {
    /** Not base64 (RFC 4648 §4; no line breaks or other characters). */
    BAD_BASE64,
    /** Longer than {@link #MAX_RESPONSE} characters, or a field longer than {@link #MAX_FIELD} octets. */
    TOO_LONG,
    /** Not UTF-8 (RFC 4616 §2: every field is UTF-8). */
    NOT_UTF8,
    /** Not two NULs (PLAIN), or a NUL inside a LOGIN field. */
    MALFORMED,
    /** No user name: RFC 4616 §2 {@code authcid = 1*SAFE}; refused before any lookup, on every protocol. */
    EMPTY_USER,
    /** An authorization identity other than the user (RFC 4616 §2): nobody may act as another user here. */
    OTHER_AUTHZID;

    /** The reason in words, for the protocol's error reply ({@code mechanism}: "PLAIN" or "LOGIN"). */
    public String text(String mechanism) {
      return switch (this) {
        case BAD_BASE64 -> "Cannot decode base64";
        case TOO_LONG -> mechanism + " response too long";
        case NOT_UTF8 -> "Malformed " + mechanism + " response: not UTF-8";
        case MALFORMED -> "Malformed " + mechanism + " response";
        case EMPTY_USER -> "Malformed " + mechanism + " response: no user name";
        case OTHER_AUTHZID -> "Authorization identity must be the user";
      };
    }
  }

  /** What a PLAIN response decodes to. */
  public sealed interface Plain permits Credentials, Refused {}

  /** What a LOGIN field decodes to. */
  public sealed interface Field permits Text, Refused {}

  /** The user (authcid) and password of a well-formed PLAIN response whose authzid is empty or the user. */
  public record Credentials(String user, String password) implements Plain {
    @Override
    public String toString() {
      return "Credentials[user=" + user + ", password=(hidden)]"; // never a credential in a log
    }
  }

  /** One LOGIN field (the user name or the password). */
  public record Text(String value) implements Field {
    @Override
    public String toString() {
      return "Text[(hidden)]";
    }
  }

  public record Refused(Failure failure) implements Plain, Field {}

  /**
   * RFC 4616 §2 PLAIN, from its base64 form (RFC 4954 §4, RFC 5034 §4, RFC 3501 §6.2.2). "=" is the empty
   * response (RFC 4954 §4), which lacks the NULs. Surrounding white space is ignored. The authzid, when given, must
   * be the user (compared ignoring case, as addresses are).
   */
  public static Plain plain(String base64) {
    byte[] raw;
    try {
      raw = bytes(base64);
    } catch (RefusedException e) {
      return e.refused;
    }
    int first = indexOf(raw, 0);
    int second = first < 0 ? -1 : indexOf(raw, first + 1);
    if (second < 0 || indexOf(raw, second + 1) >= 0) {
      return new Refused(Failure.MALFORMED);
    }
    if (first > MAX_FIELD || second - first - 1 > MAX_FIELD || raw.length - second - 1 > MAX_FIELD) {
      return new Refused(Failure.TOO_LONG);
    }
    String authzid;
    String user;
    String password;
    try {
      authzid = utf8(raw, 0, first);
      user = utf8(raw, first + 1, second);
      password = utf8(raw, second + 1, raw.length);
    } catch (CharacterCodingException e) {
      return new Refused(Failure.NOT_UTF8);
    }
    if (user.isEmpty()) {
      return new Refused(Failure.EMPTY_USER);
    }
    if (!authzid.isEmpty() && !authzid.equalsIgnoreCase(user)) {
      return new Refused(Failure.OTHER_AUTHZID);
    }
    return new Credentials(user, password);
  }

  /**
   * One field of the LOGIN mechanism (draft-murchison-sasl-login: the user name, then the password, each a base64
   * line). An empty user name is refused as in PLAIN.
   */
  public static Field login(String base64, boolean userName) {
    byte[] raw;
    try {
      raw = bytes(base64);
    } catch (RefusedException e) {
      return e.refused;
    }
    if (raw.length > MAX_FIELD) {
      return new Refused(Failure.TOO_LONG);
    }
    if (indexOf(raw, 0) >= 0) {
      return new Refused(Failure.MALFORMED);
    }
    String s;
    try {
      s = utf8(raw, 0, raw.length);
    } catch (CharacterCodingException e) {
      return new Refused(Failure.NOT_UTF8);
    }
    if (userName && s.isEmpty()) {
      return new Refused(Failure.EMPTY_USER);
    }
    return new Text(s);
  }

  private static byte[] bytes(String base64) {
    String s = base64.strip();
    if (s.length() > MAX_RESPONSE) {
      throw new RefusedException(Failure.TOO_LONG);
    }
    if (s.equals("=")) {
      return new byte[0];
    }
    try {
      return Base64.getDecoder().decode(s);
    } catch (IllegalArgumentException e) {
      throw new RefusedException(Failure.BAD_BASE64);
    }
  }

  private static int indexOf(byte[] b, int from) {
    for (int i = from; i < b.length; i++) {
      if (b[i] == 0) {
        return i;
      }
    }
    return -1;
  }

  private static String utf8(byte[] b, int from, int to) throws CharacterCodingException {
    return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, from, to - from)).toString();
  }

  /** Carries a refusal out of {@link #bytes}; never leaves this class. */
  private static final class RefusedException extends RuntimeException {
    final Refused refused;

    RefusedException(Failure f) {
      super(null, null, false, false);
      this.refused = new Refused(f);
    }
  }
}
