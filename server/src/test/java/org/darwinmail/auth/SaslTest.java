package org.darwinmail.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.stream.Stream;
import org.darwinmail.auth.Sasl.Credentials;
import org.darwinmail.auth.Sasl.Failure;
import org.darwinmail.auth.Sasl.Refused;
import org.darwinmail.auth.Sasl.Text;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The one SASL decoder (RFC 4616 §2 PLAIN, and LOGIN's fields): tables of response -> result, compared whole. */
class SaslTest {
  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String b64(byte[] b) {
    return Base64.getEncoder().encodeToString(b);
  }

  static Stream<Arguments> plain() {
    String longField = "a".repeat(Sasl.MAX_FIELD + 1);
    return Stream.of(
        Arguments.of("no authzid", b64("\0alice@x.test\0pw"), new Credentials("alice@x.test", "pw")),
        Arguments.of("authzid = authcid", b64("alice@x.test\0alice@x.test\0pw"), new Credentials("alice@x.test", "pw")),
        Arguments.of("authzid = authcid ignoring case", b64("Alice@X.test\0alice@x.test\0pw"),
            new Credentials("alice@x.test", "pw")),
        Arguments.of("password with spaces and UTF-8", b64("\0alice@x.test\0p w ü"),
            new Credentials("alice@x.test", "p w ü")),
        Arguments.of("white space around the line", "  " + b64("\0a@x.test\0pw") + " ", new Credentials("a@x.test", "pw")),
        Arguments.of("empty password reaches the login", b64("\0a@x.test\0"), new Credentials("a@x.test", "")),
        Arguments.of("empty user", b64("\0\0pw"), new Refused(Failure.EMPTY_USER)),
        Arguments.of("empty user with authzid", b64("bob@x.test\0\0pw"), new Refused(Failure.EMPTY_USER)),
        Arguments.of("authzid != authcid", b64("bob@x.test\0alice@x.test\0pw"), new Refused(Failure.OTHER_AUTHZID)),
        Arguments.of("no NUL", b64("alice@x.test pw"), new Refused(Failure.MALFORMED)),
        Arguments.of("one NUL", b64("alice@x.test\0pw"), new Refused(Failure.MALFORMED)),
        Arguments.of("three NULs", b64("\0alice@x.test\0p\0w"), new Refused(Failure.MALFORMED)),
        Arguments.of("'=' (empty response)", "=", new Refused(Failure.MALFORMED)),
        Arguments.of("empty line", "", new Refused(Failure.MALFORMED)),
        Arguments.of("bad base64", "!!notbase64!!", new Refused(Failure.BAD_BASE64)),
        Arguments.of("padding inside", "AGFAeC50ZXN0=AHB3", new Refused(Failure.BAD_BASE64)),
        Arguments.of("not UTF-8", b64(new byte[] {0, 'a', 0, (byte) 0xff, (byte) 0xfe}), new Refused(Failure.NOT_UTF8)),
        Arguments.of("user over the field limit", b64("\0" + longField + "\0pw"), new Refused(Failure.TOO_LONG)),
        Arguments.of("password over the field limit", b64("\0a@x.test\0" + longField), new Refused(Failure.TOO_LONG)),
        Arguments.of("fields at the limit", b64("a".repeat(Sasl.MAX_FIELD) + "\0" + "a".repeat(Sasl.MAX_FIELD) + "\0"
            + "p".repeat(Sasl.MAX_FIELD)), new Credentials("a".repeat(Sasl.MAX_FIELD), "p".repeat(Sasl.MAX_FIELD))),
        Arguments.of("response over the line limit", "A".repeat(Sasl.MAX_RESPONSE + 4), new Refused(Failure.TOO_LONG)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void plain(String what, String response, Sasl.Plain expected) {
    assertThat(Sasl.plain(response)).isEqualTo(expected);
  }

  static Stream<Arguments> login() {
    return Stream.of(
        Arguments.of("user name", b64("alice@x.test"), true, new Text("alice@x.test")),
        Arguments.of("password", b64("p w"), false, new Text("p w")),
        Arguments.of("empty user name", "", true, new Refused(Failure.EMPTY_USER)),
        Arguments.of("empty password reaches the login", "", false, new Text("")),
        Arguments.of("NUL inside", b64("a\0b"), true, new Refused(Failure.MALFORMED)),
        Arguments.of("bad base64", "!!", true, new Refused(Failure.BAD_BASE64)),
        Arguments.of("not UTF-8", b64(new byte[] {(byte) 0xc3}), false, new Refused(Failure.NOT_UTF8)),
        Arguments.of("over the field limit", b64("a".repeat(Sasl.MAX_FIELD + 1)), true, new Refused(Failure.TOO_LONG)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void login(String what, String response, boolean userName, Sasl.Field expected) {
    assertThat(Sasl.login(response, userName)).isEqualTo(expected);
  }
}
