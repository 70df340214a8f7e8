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

  @Test
  void headerFieldsSectionsAndPartialRangesAreRead() {
    // RFC 5092 §3 enc-section is RFC 3501's section-spec %-encoded; ipartial = "/;PARTIAL=" number ["." nz-number]
    ImapUrl u = ImapUrl.parse("imap://joe@example.com/INBOX/;UID=20/;SECTION=2.header.fields%20(Subject%20X-A)"
        + "/;PARTIAL=10.20;URLAUTH=authuser");
    assertThat(u.section()).isEqualTo("2.HEADER.FIELDS (SUBJECT X-A)");
    assertThat(u.part().path()).containsExactly(2);
    assertThat(u.part().text()).isEqualTo("HEADER.FIELDS");
    assertThat(u.part().fields()).containsExactly("SUBJECT", "X-A");
    assertThat(u.partial()).containsExactly(10, 20);
    assertThat(u.access()).isEqualTo("authuser");
    ImapUrl not = ImapUrl.parse("imap://joe@example.com/INBOX/;UID=20/;SECTION=HEADER.FIELDS.NOT%20(To)"
        + ";URLAUTH=ANONYMOUS");
    assertThat(not.part().path()).isEmpty();
    assertThat(not.part().text()).isEqualTo("HEADER.FIELDS.NOT");
    assertThat(not.partial()).isNull();
    assertThat(not.access()).isEqualTo("anonymous");
    ImapUrl range = ImapUrl.parse("imap://joe@example.com/INBOX/;UID=20/;PARTIAL=7;URLAUTH=user+joe");
    assertThat(range.part()).isNull();
    assertThat(range.partial()).containsExactly(7, Long.MAX_VALUE);
    assertThat(range.rump()).endsWith("/;PARTIAL=7;URLAUTH=user+joe"); // the token signs the range too
    ImapUrl mime = ImapUrl.parse("imap://joe@example.com/INBOX/;UID=20/;SECTION=1.3.MIME;URLAUTH=user+joe");
    assertThat(mime.part().path()).containsExactly(1, 3);
    assertThat(mime.part().text()).isEqualTo("MIME");
    assertThat(ImapUrl.parse("imap://joe@example.com/INBOX/;UID=20/;SECTION=1.2;URLAUTH=user+joe").part().text())
        .isEmpty();
  }

  @Test
  void headerFieldListsAndPartNumbersAreBounded() {
    String many = "(X" + "%20X".repeat(64) + ")"; // 65 names; 64 are read
    assertThatThrownBy(() -> ImapUrl.parse("imap://a@b/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20" + many
        + ";URLAUTH=authuser")).isInstanceOf(UrlAuth.Refused.class);
    String deep = "1.".repeat(25) + "1";
    assertThatThrownBy(() -> ImapUrl.parse("imap://a@b/INBOX/;UID=1/;SECTION=" + deep + ";URLAUTH=authuser"))
        .isInstanceOf(UrlAuth.Refused.class);
    assertThat(ImapUrl.parse("imap://a@b/INBOX/;UID=1/;SECTION=" + "1.".repeat(24) + "1;URLAUTH=authuser")
        .part().path()).hasSize(25);
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
      "imap://a@b/INBOX/;UID=1/;SECTION=0;URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;SECTION=1.0;URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;SECTION=1.;URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;SECTION=MIME;URLAUTH=submit+a", // MIME needs a part
      "imap://a@b/INBOX/;UID=1/;SECTION=123456;URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;SECTION=HEADER.FIELDS;URLAUTH=submit+a", // no list
      "imap://a@b/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20();URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(To%20%20Cc);URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(To:);URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;SECTION=HEADER.FIELDSX%20(To);URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;SECTION=HEADER.FIELDS.NOT%20(To;URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;PARTIAL=x;URLAUTH=submit+a",
      "imap://a@b/INBOX/;UID=1/;PARTIAL=0.0;URLAUTH=submit+a", // length is nz-number
      "imap://a@b/INBOX/;UID=1/;PARTIAL=1/;SECTION=1;URLAUTH=submit+a", // section before partial
      "imap://a@b/INBOX/;UID=1;URLAUTH=fred", // RFC 4467 §2.3.3 names four access identifiers
      "imap://a@b/INBOX/;UID=1;URLAUTH=user+",
      "imap://a@b/INBOX/;UID=1;URLAUTH=admin+a",
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
