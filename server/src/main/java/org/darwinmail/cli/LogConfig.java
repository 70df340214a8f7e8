package org.darwinmail.cli;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The logging set-up of the server and the commands, made in code (registered for logback's ServiceLoader in
 * META-INF/services): reading the same set-up from a logback.xml (Joran) took half a second of CPU at each start
 * (issue 22). The server logs to standard output (the journal on the appliance), one line per event:
 * {@code 2026-12-04T17:06:31.123Z INFO  DarwinMail message}; CLI commands log warnings to stderr (Main sets
 * {@code darwinmail.log.target} and {@code darwinmail.log.level}). A {@code -Dlogback.configurationFile=FILE} or a
 * {@code logback-test.xml} on the class path (the tests') is used instead (logback's own configurator reads it).
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogConfig extends ContextAwareBase implements Configurator {
  static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSX} %-5level %logger{0} %msg%n";

  @Override
  public ExecutionStatus configure(LoggerContext lc) {
    if (System.getProperty("logback.configurationFile") != null
        || LogConfig.class.getClassLoader().getResource("logback-test.xml") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    apply(lc);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** Sets up {@code lc} as the server's logging (tests call it on a context of their own). */
  static void apply(LoggerContext lc) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(lc);
    encoder.setPattern(PATTERN);
    encoder.start();
    ConsoleAppender<ILoggingEvent> out = new ConsoleAppender<>();
    out.setContext(lc);
    out.setName("OUT");
    out.setTarget(System.getProperty("darwinmail.log.target", "System.out"));
    out.setEncoder(encoder);
    out.start();
    // Lines are queued and written by logback's own thread: a console write on the session's thread for each
    // accepted message was a quarter of that thread's CPU at bench-smtp concurrency 1. Nothing is dropped (a full
    // queue makes the logger wait); Main.flushLogs drains the queue before the process ends (a SIGKILL loses what is
    // still queued, a few milliseconds of lines).
    AsyncAppender async = new AsyncAppender();
    async.setContext(lc);
    async.setName("ASYNC");
    async.setQueueSize(8192);
    async.setDiscardingThreshold(0);
    async.setMaxFlushTime(5000);
    async.addAppender(out);
    async.start();
    lc.getLogger("com.zaxxer.hikari").setLevel(Level.WARN);
    lc.getLogger("io.netty").setLevel(Level.WARN);
    // jSPF logs every "no SPF record" (a normal result) as a warning with a stack trace.
    lc.getLogger("org.apache.james.jspf").setLevel(Level.ERROR);
    Logger root = lc.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(System.getProperty("darwinmail.log.level", "INFO"), Level.INFO));
    root.addAppender(async);
  }
}
