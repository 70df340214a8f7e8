package org.darwinmail.pop3;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzzing (Jazzer) of the POP3 command parser (issue 6): only {@link Pop3Exception} (a -ERR reply) may come out.
 * Regression mode in {@code make check}; {@code make fuzz} for long runs.
 */
class Pop3ParserFuzzTest {

  @FuzzTest(maxDuration = "60s")
  void commandParser(FuzzedDataProvider data) {
    String line = data.consumeRemainingAsString();
    try {
      if (Pop3Command.parse(line) == null) {
        throw new AssertionError("parse returned null for " + line);
      }
    } catch (Pop3Exception e) {
      // a protocol error: fine
    }
  }
}
