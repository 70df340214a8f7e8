package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The parser alone: RFC 1939 / RFC 2449 / RFC 5034 command lines to values, and only protocol errors escape. */
class Pop3CommandTest {

  @Test
  void parsesTheRfcExamples() {
    // RFC 1939 §5-§7 examples
    assertThat(Pop3Command.parse("USER mrose")).isEqualTo(new Pop3Command.User("mrose"));
    assertThat(Pop3Command.parse("PASS secret")).isEqualTo(new Pop3Command.Pass("secret"));
    assertThat(Pop3Command.parse("PASS pass with spaces")).isEqualTo(new Pop3Command.Pass("pass with spaces"));
    assertThat(Pop3Command.parse("STAT")).isEqualTo(new Pop3Command.Stat());
    assertThat(Pop3Command.parse("LIST")).isEqualTo(new Pop3Command.List(null));
    assertThat(Pop3Command.parse("LIST 2")).isEqualTo(new Pop3Command.List(2));
    assertThat(Pop3Command.parse("RETR 1")).isEqualTo(new Pop3Command.Retr(1));
    assertThat(Pop3Command.parse("DELE 1")).isEqualTo(new Pop3Command.Dele(1));
    assertThat(Pop3Command.parse("TOP 1 10")).isEqualTo(new Pop3Command.Top(1, 10));
    assertThat(Pop3Command.parse("UIDL")).isEqualTo(new Pop3Command.Uidl(null));
    assertThat(Pop3Command.parse("uidl 2")).isEqualTo(new Pop3Command.Uidl(2));
    assertThat(Pop3Command.parse("NOOP")).isEqualTo(new Pop3Command.Noop());
    assertThat(Pop3Command.parse("RSET")).isEqualTo(new Pop3Command.Rset());
    assertThat(Pop3Command.parse("QUIT")).isEqualTo(new Pop3Command.Quit());
    // RFC 2449 §5, RFC 2595 §4, RFC 5034 §4
    assertThat(Pop3Command.parse("CAPA")).isEqualTo(new Pop3Command.Capa());
    assertThat(Pop3Command.parse("STLS")).isEqualTo(new Pop3Command.Stls());
    assertThat(Pop3Command.parse("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q="))
        .isEqualTo(new Pop3Command.Auth("PLAIN", "dGVzdAB0ZXN0AHRlc3Q="));
    assertThat(Pop3Command.parse("auth plain")).isEqualTo(new Pop3Command.Auth("PLAIN", null));
    assertThat(Pop3Command.parse("AUTH")).isEqualTo(new Pop3Command.Auth(null, null));
    assertThat(Pop3Command.parse("TOP 1 99999999999999999999999")).isEqualTo(new Pop3Command.Top(1, Long.MAX_VALUE));
    // more than one space between words, leading zeros (a number, not its spelling)
    assertThat(Pop3Command.parse("TOP  007   0")).isEqualTo(new Pop3Command.Top(7, 0));
    assertThat(Pop3Command.parse("RETR 0000000000001")).isEqualTo(new Pop3Command.Retr(1));
    assertThat(Pop3Command.parse("DELE 12 ")).isEqualTo(new Pop3Command.Dele(12));
    assertThat(Pop3Command.parse("TOP 1 000")).isEqualTo(new Pop3Command.Top(1, 0));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "XYZZY", "USER", "USER a b", "PASS", "STAT 1", "LIST a", "LIST -1", "LIST 1 2",
      "RETR", "RETR 0", "RETR 1x", "RETR 10000000000", "RETR 000", "RETR 1 2", "DELE", "TOP 1", "TOP x 1", "TOP 1 -1",
      "NOOP x", "QUIT now", "AUTH a b c", "CAPA x", "STLS x", "\u0000", "RETR \uFFFD"})
  void refusesWithAProtocolError(String line) {
    assertThatThrownBy(() -> Pop3Command.parse(line)).isInstanceOf(Pop3Exception.class)
        .satisfies(e -> assertThat(((Pop3Exception) e).reply().ok()).isFalse());
  }
}
