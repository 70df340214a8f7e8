package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The delivery trace's memory: header fields read within a bound, lookups by id, Message-ID and recipient. */
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

  @Test
  void aTraceFindsEveryEventOfTheMessagesThatMatch() {
    DeliveryLog log = new DeliveryLog(5);
    log.add(1, "queued", "a@example.test", "x@remote.test", "", "received");
    log.add(2, "queued", "a@example.test", "y@remote.test", "", "received");
    log.summary(1, new DeliveryLog.Summary("<m1@example.test>", "", ""));
    log.add(1, "deferred", "a@example.test", "x@remote.test", "mx.remote.test", "451 4.3.0 later");
    assertThat(log.trace("X@remote.test", 10)).extracting(DeliveryLog.Event::kind).containsExactly("queued",
        "deferred");
    assertThat(log.trace("m1@example.test", 10)).hasSize(2).allMatch(e -> e.messageId().equals("<m1@example.test>"));
    assertThat(log.trace("2", 10)).extracting(DeliveryLog.Event::recipient).containsExactly("y@remote.test");
    for (int i = 0; i < 5; i++) {
      log.add(3, "queued", "", "z@remote.test", "", "");
    }
    assertThat(log.trace("1", 10)).as("bounded: the oldest events are gone").isEmpty();
  }
}
