package org.darwinmail.urlauth;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzzing (Jazzer) of the URLAUTH URL grammar (RFC 5092 §11, RFC 4467 §7), which both IMAP and BURL read from
 * clients: only a parsed URL or a SYNTAX refusal comes out, never another exception; what is parsed names a UID and
 * a rump that starts the URL. Regression mode in {@code make check}; {@code make fuzz} for long runs.
 */
class ImapUrlFuzzTest {
  @FuzzTest(maxDuration = "60s")
  void url(FuzzedDataProvider data) {
    String url = data.consumeRemainingAsString();
    try {
      ImapUrl u = ImapUrl.parse(url);
      if (u.uid() <= 0 || !url.startsWith(u.rump()) || u.access().isEmpty()
          || (u.token() == null) != (u.mechanism() == null)) {
        throw new AssertionError("parsed inconsistently: " + url);
      }
    } catch (UrlAuth.Refused e) {
      if (e.failure != UrlAuth.Failure.SYNTAX) {
        throw new AssertionError("not a syntax refusal: " + e.failure);
      }
    }
  }
}
