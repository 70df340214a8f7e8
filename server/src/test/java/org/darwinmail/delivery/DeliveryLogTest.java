package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The delivery trace's header summaries: fields read within a bound (the events: TraceRepositoryContract). */
class DeliveryLogTest {
  @Test
  void theSummaryReadsFoldedFieldsOfTheHeaderOnly() throws Exception {
    String m = "Received: x\r\nmessage-id:\r\n <a1@example.test>\r\nFrom: \"<b>Bob</b>\" <bob@example.test>\r\n"
        + "Subject: hi\r\n\r\nSubject: not a header\r\n";
    DeliveryLog.Summary s = DeliveryLog.summary(new ByteArrayInputStream(m.getBytes(StandardCharsets.UTF_8)));
    assertThat(s).isEqualTo(new DeliveryLog.Summary("<a1@example.test>", "\"<b>Bob</b>\" <bob@example.test>", "hi"));
    // a header section longer than the bound: read up to it, no further
    String big = "X-Long: " + "y".repeat(DeliveryLog.HEADER_LIMIT) + "\r\nSubject: late\r\n\r\n";
    assertThat(DeliveryLog.summary(new ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8))).subject())
        .isEmpty();
  }
}
