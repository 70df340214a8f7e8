package org.darwinmail.imap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** CATENATE's URL grammar (RFC 4469 §5, RFC 5092 §11), without the store. */
class CatenateTest {
  @Test
  void theRfcExampleUrlsParse() {
    // RFC 4469 Appendix A ("section=" in lower case there)
    Catenate.Url u = Catenate.parse("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER");
    assertThat(u.mailbox()).isEqualTo("Drafts");
    assertThat(u.uidValidity()).isEqualTo(385759045L);
    assertThat(u.uid()).isEqualTo(20);
    assertThat(u.section().spec()).isEqualTo(FetchItem.Spec.HEADER);
    assertThat(u.partial()).isNull();
    u = Catenate.parse("/Drafts;UIDVALIDITY=385759045/;UID=30/;section=1.MIME");
    assertThat(u.section().path()).containsExactly(1);
    assertThat(u.section().spec()).isEqualTo(FetchItem.Spec.MIME);
  }

  @Test
  void escapesPartialAndInbox() {
    Catenate.Url u = Catenate.parse("/inbox/sub%2Fx%C3%A9/;UID=5/;SECTION=2.HEADER.FIELDS%20(SUBJECT)/;PARTIAL=10.20");
    assertThat(u.mailbox()).isEqualTo("INBOX/sub/xé");
    assertThat(u.section().spec()).isEqualTo(FetchItem.Spec.HEADER_FIELDS);
    assertThat(u.section().fields()).containsExactly("SUBJECT");
    assertThat(u.partial()).containsExactly(10, 20);
    assertThat(Catenate.parse("/x/;UID=1/;PARTIAL=7").partial()).containsExactly(7, Long.MAX_VALUE);
  }

  @ParameterizedTest
  @ValueSource(strings = {"INBOX/;UID=1", "/INBOX/;UID=0", "/INBOX;UID=1", "/INBOX/;UID=1/;SECTION=1.2.FOO",
      "/INBOX/;UID=1/;SECTION=%ZZ", "/INBOX/;UID=1/;SECTION=1]%20BODY[2", "/INBOX/;UID=1/;SECTION=HEADER<0.5>",
      "imap://u@h/INBOX/;UID=1", "/INBOX/;UID=1;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=anonymous:internal:00",
      "/INBOX/;UID=99999999999", "/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX?SUBJECT", "/;UID=1", "/INBOX%/;UID=1"})
  void whatIsNotARelativeUrlOfAMessageIsBadUrl(String url) {
    assertThatThrownBy(() -> Catenate.parse(url)).isInstanceOf(ImapException.class)
        .satisfies(e -> assertThat(((ImapException) e).reply()).startsWith("NO [BADURL "));
  }

  /** The pattern is checked only up to {@link Catenate#MAX_URL} characters, and in time linear enough for that. */
  @Test
  void longAdversarialUrlsAreQuick() {
    String[] urls = {"/" + "a/".repeat(1000), "/" + ";UIDVALIDITY=1".repeat(145), "/x" + "/;UID=1".repeat(290),
        "/" + "a".repeat(5000) + "/;UID=1"};
    long start = System.nanoTime();
    for (String u : urls) {
      assertThatThrownBy(() -> Catenate.parse(u)).isInstanceOf(ImapException.class);
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
  }
}
