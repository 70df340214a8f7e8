package org.darwinmail.urlauth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The URLAUTH URL grammar alone (RFC 5092 §11 with RFC 4467 §7's urlauth), from the RFCs' examples, no I/O. */
class ImapUrlTest {
  @Test
  void theRfc4467ExampleParsesIntoItsRumpAndToken() {
    // RFC 4467 §6.2's example (its token is 32 hex digits: enc-urlauth = 32*HEXDIG)
    String rump = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred";
    ImapUrl u = ImapUrl.parse(rump + ":internal:91354a473744909de610943775f92038");
    assertThat(u.rump()).isEqualTo(rump);
    assertThat(u.user()).isEqualTo("joe");
    assertThat(u.host()).isEqualTo("example.com");
    assertThat(u.mailbox()).isEqualTo("INBOX");
    assertThat(u.uidValidity()).isZero();
    assertThat(u.uid()).isEqualTo(20);
    assertThat(u.section()).isEqualTo("1.2");
    assertThat(u.access()).isEqualTo("submit+fred");
    assertThat(u.mechanism()).isEqualTo("INTERNAL");
    assertThat(u.token()).isEqualTo("91354a473744909de610943775f92038");
    assertThat(ImapUrl.parse(rump).token()).isNull();
  }

  @Test
  void escapesUidvalidityPortAndExpireAreRead() {
    ImapUrl u = ImapUrl.parse("imap://a%40b.test@MX.test:143/Sent%20Items;UIDVALIDITY=385759045/;UID=7"
        + "/;SECTION=HEADER;EXPIRE=2026-12-04T10:00:00Z;URLAUTH=user+a%40b.test");
    assertThat(u.user()).isEqualTo("a@b.test");
    assertThat(u.host()).isEqualTo("mx.test");
    assertThat(u.mailbox()).isEqualTo("Sent Items");
    assertThat(u.uidValidity()).isEqualTo(385759045);
    assertThat(u.section()).isEqualTo("HEADER");
    assertThat(u.expire()).isEqualTo(Instant.parse("2026-12-04T10:00:00Z"));
    assertThat(u.access()).isEqualTo("user+a@b.test");
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "", "imap://", "http://a@b/INBOX/;UID=1;URLAUTH=submit+a", // not imap
      "imap://b/INBOX/;UID=1;URLAUTH=submit+a", // no user
      "imap://a@b/INBOX/;UID=0;URLAUTH=submit+a", // UID 0
      "imap://a@b/INBOX;UIDVALIDITY=x/;UID=1;URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1", // no URLAUTH
      "imap://a@b/INBOX/;UID=1;URLAUTH=submit+a:INTERNAL:abc", // token under 32 hex digits
      "imap://a@b/INBOX/;UID=1;URLAUTH=submit+a:INTERNAL:gggggggggggggggggggggggggggggggg",
      "imap://a@b/INBOX/;UID=1/;SECTION=1.HEADER.FIELDS%20(To);URLAUTH=submit+a", // not offered
      "imap://a@b/INBOX/;UID=1/;SECTION=0;URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1;EXPIRE=yesterday;URLAUTH=submit+a",
      "imap://a@b/IN%4/;UID=1;URLAUTH=submit+a", // a bad escape
      "imap://a@b/INBOX/;UID=1;URLAUTH=submit+a%2"})
  void whatIsNotAUrlauthUrlIsASyntaxRefusal(String url) {
    assertThatThrownBy(() -> ImapUrl.parse(url)).isInstanceOfSatisfying(UrlAuth.Refused.class,
        r -> assertThat(r.failure).isEqualTo(UrlAuth.Failure.SYNTAX));
  }

  @Test
  void longAdversarialUrlsAreRefusedBoundedByTheirLength() {
    // many "/" and ";UID=" candidates for the lazy mailbox group, and a URL over the limit
    String many = "imap://a@b/" + "x/;UID=1".repeat(250) + "!";
    assertThatThrownBy(() -> ImapUrl.parse(many)).isInstanceOf(UrlAuth.Refused.class);
    String over = "imap://a@b/INBOX/;UID=1;URLAUTH=submit+" + "a".repeat(ImapUrl.MAX_URL);
    assertThatThrownBy(() -> ImapUrl.parse(over)).isInstanceOf(UrlAuth.Refused.class);
  }

  @Test
  void theTokenIsHmacSha256OfTheRumpUnderTheKey() {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    assertThat(UrlAuth.token("Jefe".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        "what do ya want for nothing?"))
        .isEqualTo("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
}
