package org.darwinmail.mime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The PREVIEW text (RFC 8970 §3): which part, how it is folded and cut, and bounded work on hostile input. */
class PreviewTest {
  private static String preview(String message) {
    return Preview.of(MimePart.parse(message.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void theFirstPlainTextPartFoldedAndCutTo256Characters() {
    String body = "\u00e9".repeat(300);
    String p = preview("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n  \t" + body + "\r\n");
    assertThat(p).hasSize(256).isEqualTo(body.substring(0, 256));
  }

  @Test
  void aCodePointOutsideTheBmpIsNotCut() {
    String p = preview("Content-Type: text/plain; charset=utf-8\r\n\r\n" + "a".repeat(255) + "\uD83D\uDE00z\r\n");
    assertThat(p.codePointCount(0, p.length())).isEqualTo(256);
    assertThat(p).endsWith("\uD83D\uDE00");
  }

  @Test
  void plainTextIsPreferredToHtmlAndAttachmentsAreSkipped() {
    String m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n"
        + "Content-Disposition: attachment; filename=a.txt\r\n\r\nattached\r\n--b\r\nContent-Type: multipart/alternative;"
        + " boundary=c\r\n\r\n--c\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--c\r\nContent-Type: text/plain\r\n"
        + "Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybGQ=\r\n--c--\r\n--b--\r\n";
    assertThat(preview(m)).isEqualTo("Hello world");
  }

  @Test
  void htmlLosesItsMarkup() {
    assertThat(Preview.fold(Preview.stripHtml(
        "<head><STYLE>a{}</STYLE><script>x<y</script></head><p>a&lt;b</p><!-- c -->d<br")))
        .isEqualTo("a<b d");
  }

  /** RFC 2045 §5.2: no Content-Type is text/plain; us-ascii. */
  @Test
  void aMessageWithoutContentTypeIsPlainText() {
    assertThat(preview("Subject: x\r\n\r\nplain\r\n  body\r\n")).isEqualTo("plain body");
  }

  @Test
  void noTextIsAnEmptyPreview() {
    assertThat(preview("Content-Type: image/png\r\n\r\nxxxx\r\n")).isEmpty();
  }

  /** Bounded work: a large body and markup full of unclosed tags take no longer than a short one. */
  @Test
  void hostileBodiesAreBounded() {
    String big = "Content-Type: text/html\r\n\r\n" + "<style<".repeat(2_000_000) + "\r\n";
    long t = System.nanoTime();
    preview(big);
    String tags = "<".repeat(5_000_000);
    Preview.stripHtml(tags);
    assertThat(Duration.ofNanos(System.nanoTime() - t)).isLessThan(Duration.ofSeconds(5));
  }
}
