package org.darwinmail.mime;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzzing (Jazzer) of the MIME structure code (issue 6): parsing is total, so nothing at all may be thrown, whatever
 * the bytes, and every part's offsets stay inside the message. Walks what IMAP asks of a part (headers, encoded
 * words, parameters, sizes, decoded bodies). Regression mode in {@code make check}; {@code make fuzz} for long runs.
 */
class MimeStructureFuzzTest {

  @FuzzTest(maxDuration = "60s")
  void structure(FuzzedDataProvider data) {
    byte[] message = data.consumeRemainingAsBytes();
    MimePart root = MimePart.parse(message);
    walk(root, message.length, 0);
  }

  private static void walk(MimePart p, int length, int depth) {
    if (depth > MimePart.MAX_DEPTH + 2) {
      throw new AssertionError("deeper than the bound: " + depth);
    }
    if (p.bodyStart < 0 || p.bodyStart > p.end || p.end > length) {
      throw new AssertionError("offsets outside the message: " + p.bodyStart + ".." + p.end + " of " + length);
    }
    p.header("Content-Type");
    p.decodedHeader("Subject");
    p.structured("Content-Type");
    p.structured("Content-Disposition");
    p.encoding();
    p.bodySize();
    p.bodyLines();
    p.headerBytes();
    p.bodyBytes();
    p.decodedBody();
    p.isMultipart();
    if (p.start < 0 || p.start > p.bodyStart) {
      throw new AssertionError("header start outside the part: " + p.start);
    }
    for (MimePart c : p.children) {
      walk(c, length, depth + 1);
    }
    if (p.message != null) {
      walk(p.message, length, depth + 1);
    }
  }
}
