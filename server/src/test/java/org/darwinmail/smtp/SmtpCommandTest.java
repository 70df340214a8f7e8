package org.darwinmail.smtp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Table-driven parser cases, many from RFC 5321's grammar (§4.1.2) and examples. */
class SmtpCommandTest {
  @Test
  void parsesTheCommands() {
    assertThat(SmtpCommand.parse("ehlo client.example")).isEqualTo(new SmtpCommand.Hello("client.example", true));
    assertThat(SmtpCommand.parse("HELO [192.0.2.1]")).isEqualTo(new SmtpCommand.Hello("[192.0.2.1]", false));
    assertThat(SmtpCommand.parse("MAIL FROM:<>")).isEqualTo(new SmtpCommand.Mail(MailPath.NULL, Map.of()));
    assertThat(SmtpCommand.parse("mail from:<a@b.example> SIZE=100 body=8BITMIME"))
        .isEqualTo(new SmtpCommand.Mail(new MailPath("a", "b.example"), Map.of("SIZE", "100", "BODY", "8BITMIME")));
    assertThat(SmtpCommand.parse("RCPT TO:<Postmaster>"))
        .isEqualTo(new SmtpCommand.Rcpt(new MailPath("postmaster", null), Map.of()));
    assertThat(SmtpCommand.parse("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>"))
        .isEqualTo(new SmtpCommand.Rcpt(new MailPath("userc", "d.bar.org"), Map.of()));
    assertThat(SmtpCommand.parse("RCPT TO:<\"John Doe\"@example.com>"))
        .isEqualTo(new SmtpCommand.Rcpt(new MailPath("John Doe", "example.com"), Map.of()));
    assertThat(SmtpCommand.parse("BDAT 1000 LAST")).isEqualTo(new SmtpCommand.Bdat(1000, true));
    // RFC 4468 §3.3 / §7 example
    assertThat(SmtpCommand.parse("BURL imap://harry@gray.example.com/outbox;uidvalidity=1078863300/;uid=25;"
        + "urlauth=submit+harry:internal:91354a473744909de610943775f92038 LAST")).isEqualTo(new SmtpCommand.Burl(
        "imap://harry@gray.example.com/outbox;uidvalidity=1078863300/;uid=25;urlauth=submit+harry:internal:"
            + "91354a473744909de610943775f92038", true));
    assertThat(SmtpCommand.parse("burl imap://a@b/x/;uid=1;urlauth=submit+a"))
        .isEqualTo(new SmtpCommand.Burl("imap://a@b/x/;uid=1;urlauth=submit+a", false));
    assertThat(SmtpCommand.parse("AUTH plain dGVzdA==")).isEqualTo(new SmtpCommand.Auth("PLAIN", "dGVzdA=="));
    assertThat(SmtpCommand.parse("NOOP anything")).isEqualTo(new SmtpCommand.Noop());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "EHLO|501",
      "MAIL TO:<a@b.c>|501",
      "MAIL FROM:a@b.c|501",
      "MAIL FROM:<a@b.c|501",
      "RCPT TO:<>|501",
      "RCPT TO:<a@>|501",
      "RCPT TO:<a@-b.c>|501",
      "RCPT TO:<.a@b.c>|501",
      "RCPT TO:<a b@c.d>|501",
      "MAIL FROM:<a@b.c>SIZE=1|501",
      "MAIL FROM:<a@b.c> SIZE=1 SIZE=2|501",
      "DATA now|501",
      "BDAT x|501",
      "BURL|501",
      "BURL imap://a@b/x/;UID=1 FIRST|501",
      "BURL imap://a@b/x/;UID=1 LAST more|501",
      "BDAT 5 FIRST|501",
      "BDAT 99999999999999999999|501",
      "XYZZY|500",
      "|500"})
  void refusesMalformedCommandsWithTheRightCode(String line, int code) {
    String l = line == null ? "" : line;
    assertThatThrownBy(() -> SmtpCommand.parse(l)).isInstanceOfSatisfying(SmtpException.class,
        e -> assertThat(e.reply().code()).isEqualTo(code));
  }

  @Test
  void localPartLimitIs64Octets() {
    assertThatThrownBy(() -> SmtpCommand.parse("RCPT TO:<" + "a".repeat(65) + "@b.example>"))
        .isInstanceOfSatisfying(SmtpException.class, e -> assertThat(e.reply().code()).isEqualTo(553));
  }
}
