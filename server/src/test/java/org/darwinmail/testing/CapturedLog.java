package org.darwinmail.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/** The lines one class logs at {@code level} and above while the test runs; {@link #close} puts the logger back. */
public final class CapturedLog implements AutoCloseable {
  private final Logger logger;
  private final Level before;
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

  public CapturedLog(Class<?> of, Level level) {
    logger = (Logger) LoggerFactory.getLogger(of);
    before = logger.getLevel();
    logger.setLevel(level);
    logger.addAppender(lines);
    lines.start();
  }

  /** The formatted messages so far. */
  public List<String> messages() {
    return lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  public void clear() {
    lines.list.clear();
  }

  @Override
  public void close() {
    logger.detachAppender(lines);
    logger.setLevel(before);
  }
}
