package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 8461's record and policy grammar, MX matching, and the bounds of the policy's HTTP answer: no sockets. */
class MtaStsTest {

  @Test
  void theTxtRecordGivesTheIdOnlyWhenExactlyOneValidRecordIsThere() {
    // RFC 8461 §3.1's example
    assertThat(MtaSts.id(List.of("v=STSv1; id=20160831085700Z;"))).contains("20160831085700Z");
    assertThat(MtaSts.id(List.of("v=STSv1;id=abc"))).contains("abc");
    assertThat(MtaSts.id(List.of("v=STSv1; id=abc; ext_1=val", "v=spf1 -all"))).contains("abc");
    // two STS records, none, a bad id, a missing id, a second id, a wrong version: no policy
    assertThat(MtaSts.id(List.of("v=STSv1; id=a;", "v=STSv1; id=b;"))).isEmpty();
    assertThat(MtaSts.id(List.of("v=spf1 -all"))).isEmpty();
    assertThat(MtaSts.id(List.of("v=STSv1; id=not-alnum;"))).isEmpty();
    assertThat(MtaSts.id(List.of("v=STSv1; id=" + "a".repeat(33) + ";"))).isEmpty();
    assertThat(MtaSts.id(List.of("v=STSv1; ext=1;"))).isEmpty();
    assertThat(MtaSts.id(List.of("v=STSv1; id=a; id=b"))).isEmpty();
    assertThat(MtaSts.id(List.of("v=STSv2; id=a;"))).isEmpty();
    assertThat(MtaSts.id(List.of("v=STSv1; id=a;;"))).isEmpty();
  }

  @Test
  void thePolicyOfTheRfcParsesAndBadOnesAreRefusedWithTheReason() throws Exception {
    // RFC 8461 §3.2's example, with CRLF and with LF
    String rfc = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
        + "mx: backupmx.example.com\r\nmax_age: 604800\r\n";
    MtaSts.Policy p = MtaSts.parse(rfc);
    assertThat(p.mode()).isEqualTo(MtaSts.Mode.ENFORCE);
    assertThat(p.mx()).containsExactly("mail.example.com", "*.example.net", "backupmx.example.com");
    assertThat(p.maxAge()).isEqualTo(604800);
    assertThat(MtaSts.parse(rfc.replace("\r\n", "\n"))).isEqualTo(p);
    // an unknown key is ignored; max_age above a year is cut to it (§3.2: at most 31557600)
    assertThat(MtaSts.parse("version: STSv1\nmode: testing\nmx: a.test\nmax_age: 9999999999\nfuture_key: x y\n")
        .maxAge()).isEqualTo(31_557_600L);
    assertThat(MtaSts.parse("version: STSv1\nmode: none\nmax_age: 86400\n").mx()).isEmpty();
    for (String[] bad : new String[][] {
        {"mode: enforce\nmx: a.test\nmax_age: 1\n", "no version"},
        {"version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", "version is not STSv1"},
        {"version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n", "mode \"strict\" is none of"},
        {"version: STSv1\nmode: enforce\nmx: a.test\n", "no max_age"},
        {"version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx"},
        {"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n", "max_age is not"},
        {"version: STSv1\nmode: enforce\nmode: testing\nmx: a.test\nmax_age: 1\n", "mode given twice"},
        {"version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 1\n", "is not a host name"},
        {"version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 1\n", "is not a host name"},
        {"<html>\nversion: STSv1\n", "line 1 is not"}}) {
      assertThatThrownBy(() -> MtaSts.parse(bad[0])).as(bad[0]).isInstanceOf(MtaSts.Invalid.class)
          .hasMessageContaining(bad[1]);
    }
  }

  @Test
  void aWildcardStandsForExactlyOneLeftmostLabel() {
    // RFC 8461 §4.1
    assertThat(MtaSts.matches("*.example.com", "mail.example.com")).isTrue();
    assertThat(MtaSts.matches("*.example.com", "MAIL.Example.COM.")).isTrue();
    assertThat(MtaSts.matches("*.example.com", "example.com")).isFalse();
    assertThat(MtaSts.matches("*.example.com", "foo.mail.example.com")).isFalse();
    assertThat(MtaSts.matches("mail.example.com", "mail.example.com")).isTrue();
    assertThat(MtaSts.matches("mail.example.com", "mail2.example.com")).isFalse();
  }

  private static String read(String http) throws Exception {
    return PolicyFetch.read(new ByteArrayInputStream(http.getBytes(StandardCharsets.ISO_8859_1)), "here");
  }

  @Test
  void theHttpAnswerIsBoundedAndOnlyA200TextPlainIsAPolicy() throws Exception {
    String policy = "version: STSv1\r\nmode: enforce\r\nmx: a.test\r\nmax_age: 60\r\n";
    assertThat(read("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + policy.length()
        + "\r\n\r\n" + policy)).isEqualTo(policy);
    assertThat(read("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "a\r\n" + policy.substring(0, 10) + "\r\n" + Integer.toHexString(policy.length() - 10) + "\r\n"
        + policy.substring(10) + "\r\n0\r\n\r\n")).isEqualTo(policy);
    assertThat(read("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + policy)).isEqualTo(policy);
    String big = "x".repeat(PolicyFetch.MAX_BODY + 1);
    for (String[] bad : new String[][] {
        {"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere/\r\n\r\n", "a redirect"},
        {"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n", "HTTP 404"},
        {"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + policy, "not text/plain"},
        {"HTTP/1.1 200 OK\r\n\r\n" + policy, "Content-Type missing"},
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + big.length() + "\r\n\r\n" + big,
            "larger than 64 KB"},
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + big, "larger than 64 KB"},
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "8000\r\n" + big.substring(0, 0x8000) + "\r\n8000\r\n" + big.substring(0, 0x8000) + "\r\n1\r\nx\r\n0\r\n\r\n",
            "larger than 64 KB"},
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX: " + "y".repeat(PolicyFetch.MAX_HEAD) + "\r\n\r\n",
            "longer than 16 KB"},
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n",
            "larger than 64 KB"},
        {"SSH-2.0-OpenSSH\r\n", "not an HTTP answer"}}) {
      assertThatThrownBy(() -> read(bad[0])).as(bad[1]).isInstanceOf(PolicyFetch.PolicyRefused.class)
          .hasMessageContaining(bad[1]);
    }
  }

  /**
   * Mutations of valid inputs (bytes flipped, cut, repeated; a fixed seed): the record parser only answers, the
   * policy parser only answers or refuses with {@link MtaSts.Invalid}, the HTTP reader only with an IOException.
   */
  @Test
  void mangledInputsOnlyEverGiveAnAnswerOrARefusal() {
    java.util.Random rnd = new java.util.Random(8461);
    String policy = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n";
    String http = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        + Integer.toHexString(policy.length()) + "\r\n" + policy + "\r\n0\r\n\r\n";
    for (int i = 0; i < 3000; i++) {
      String p = mangle(policy, rnd);
      String t = mangle("v=STSv1; id=20160831085700Z; ext=1;", rnd);
      String h = mangle(http, rnd);
      MtaSts.id(List.of(t));
      try {
        MtaSts.Policy parsed = MtaSts.parse(p);
        assertThat(parsed.maxAge()).isBetween(0L, MtaSts.MAX_AGE_LIMIT);
      } catch (MtaSts.Invalid e) {
        assertThat(e.getMessage()).isNotBlank();
      }
      try {
        read(h);
      } catch (java.io.IOException e) {
        assertThat(e.getMessage()).isNotBlank();
      } catch (Exception e) {
        throw new AssertionError("input " + i + ": " + h, e);
      }
    }
  }

  private static String mangle(String s, java.util.Random rnd) {
    StringBuilder b = new StringBuilder(s);
    for (int n = rnd.nextInt(4); n >= 0; n--) {
      int at = rnd.nextInt(b.length() + 1);
      switch (rnd.nextInt(4)) {
        case 0 -> b.insert(at, (char) rnd.nextInt(256));
        case 1 -> { if (at < b.length()) b.deleteCharAt(at); }
        case 2 -> b.setLength(at);
        default -> b.insert(at, b.substring(0, Math.min(b.length(), rnd.nextInt(40))));
      }
    }
    return b.toString();
  }
}
