package org.darwinmail.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.darwinmail.store.TraceRepository;

/**
 * The delivery engine's side of the delivery trace (issue 17): builds the events of outbound mail (queued, each
 * attempt's remote MTA and answer: delivered, deferred, bounced; administrators' hold, release, retry, delete and
 * bounce with who did it) for the durable trace ({@link TraceLog}, table {@code trace_events}), and keeps each queue
 * entry's Message-ID, From and Subject as read at its first attempt (memory only, the last {@link #SUMMARIES}: the
 * queue page's summary and the events' Message-ID).
 */
public final class DeliveryLog {
  /** Header summaries kept (the queue entries attempted last), each field at most {@link #MAX_FIELD}. */
  static final int SUMMARIES = 5_000;
  static final int MAX_FIELD = 200;
  static final int MAX_TEXT = 300;
  /** How much of a message's header section is read for its Message-ID. */
  static final int HEADER_LIMIT = 32 * 1024;

  /** The Message-ID of each queue entry seen lately (the oldest forgotten first). */
  private final java.util.LinkedHashMap<Long, Summary> summaries = new java.util.LinkedHashMap<>(64, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(java.util.Map.Entry<Long, Summary> eldest) {
      return size() > SUMMARIES;
    }
  };
  /** Where events written behind go, or null (nothing traced). */
  private final TraceLog sink;

  public DeliveryLog(TraceLog sink) {
    this.sink = sink;
  }

  /** The durable trace, or null. */
  public TraceLog sink() {
    return sink;
  }

  /** An event of a queue entry, its Message-ID from the summary when one was read. */
  public TraceRepository.Event event(long queueId, String kind, String sender, String recipient, String remote,
      String detail) {
    Summary sm = summaryOf(queueId);
    return new TraceRepository.Event(Instant.now(), kind, queueId, sm == null ? "" : sm.messageId(),
        sender == null ? "" : sender, recipient, "", 0, remote == null ? "" : remote, detail == null ? "" : detail);
  }

  /** Records an event written behind (one not part of a change to the queue: a lease lost, an administrator's). */
  public void add(long queueId, String kind, String sender, String recipient, String remote, String detail) {
    if (sink != null) {
      sink.add(event(queueId, kind, sender, recipient, remote, detail));
    }
  }

  /** A queued message's Message-ID, From and Subject as written in its header ("" for each one missing). */
  public record Summary(String messageId, String from, String subject) {}

  /** The summary recorded for a queue entry, or null when none was recorded. */
  public Summary summaryOf(long queueId) {
    synchronized (summaries) {
      return summaries.get(queueId);
    }
  }

  /** The Message-ID recorded for a queue entry, or null when none was recorded. */
  public String messageIdOf(long queueId) {
    Summary s = summaryOf(queueId);
    return s == null ? null : s.messageId();
  }

  /** Records a queue entry's summary. */
  public void summary(long queueId, Summary summary) {
    synchronized (summaries) {
      summaries.put(queueId, summary);
    }
  }

  /**
   * The Message-ID, From and Subject fields of a message's header section (RFC 5322 §3.6.4, §3.6.2, §3.6.5),
   * unfolded, as written (encoded words are not decoded); "" for each one missing within the first {@link
   * #HEADER_LIMIT} bytes. Reads no further than that.
   */
  public static Summary summary(InputStream in) throws IOException {
    byte[] head = in.readNBytes(HEADER_LIMIT);
    String text = new String(head, StandardCharsets.UTF_8);
    int end = text.indexOf("\r\n\r\n");
    String[] lines = (end < 0 ? text : text.substring(0, end)).split("\r\n");
    return new Summary(field(lines, "Message-ID"), field(lines, "From"), field(lines, "Subject"));
  }

  private static String field(String[] lines, String name) {
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].length() > name.length() && lines[i].charAt(name.length()) == ':'
          && lines[i].regionMatches(true, 0, name, 0, name.length())) {
        StringBuilder v = new StringBuilder(lines[i].substring(name.length() + 1));
        for (int j = i + 1; j < lines.length && !lines[j].isEmpty()
            && (lines[j].charAt(0) == ' ' || lines[j].charAt(0) == '\t') && v.length() < MAX_TEXT; j++) {
          v.append(lines[j]);
        }
        String f = v.toString().strip();
        return f.length() > MAX_FIELD ? f.substring(0, MAX_FIELD) + "…" : f;
      }
    }
    return "";
  }
}
