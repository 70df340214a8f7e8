package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The server's log lines as the journal shows them (issue 22: the set-up moved from logback.xml into code): one line
 * per event, ISO time with milliseconds and zone, the level padded to 5, the class's simple name, the message; queued
 * (written by logback's thread) and nothing dropped; Netty and Hikari at WARN, jSPF at ERROR.
 */
class LogConfigTest {
  @Test
  void theServerLogsOneLinePerEventInTheJournalFormat() {
    LoggerContext lc = new LoggerContext();
    LogConfig.apply(lc);
    var root = lc.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    assertThat(root.getLevel()).isEqualTo(Level.INFO);
    AsyncAppender async = (AsyncAppender) root.getAppender("ASYNC");
    assertThat(async.getDiscardingThreshold()).isZero();
    assertThat(async.getQueueSize()).isEqualTo(8192);
    @SuppressWarnings("unchecked")
    ConsoleAppender<ILoggingEvent> out = (ConsoleAppender<ILoggingEvent>) async.getAppender("OUT");
    assertThat(out.getTarget()).isEqualTo("System.out");
    Encoder<ILoggingEvent> encoder = out.getEncoder();
    LoggingEvent e = new LoggingEvent("x", lc.getLogger("org.darwinmail.DarwinMail"), Level.INFO,
        "Darwin Mail started as {}", null, new Object[] {"mx.example.test"});
    assertThat(new String(encoder.encode(e), StandardCharsets.UTF_8))
        .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d(\\d\\d)?) INFO  DarwinMail Darwin Mail started as mx.example.test\\n");
    assertThat(lc.getLogger("io.netty.channel").getEffectiveLevel()).isEqualTo(Level.WARN);
    assertThat(lc.getLogger("com.zaxxer.hikari.pool").getEffectiveLevel()).isEqualTo(Level.WARN);
    assertThat(lc.getLogger("org.apache.james.jspf.impl").getEffectiveLevel()).isEqualTo(Level.ERROR);
    lc.stop();
  }
}
