package org.darwinmail.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What happened to outbound mail lately, for the admin console's delivery trace: each message queued (its sender,
 * recipients and Message-ID) and each event of each recipient (an attempt's remote answer, delivered, deferred,
 * bounced, and the administrator's hold, release, retry, delete and bounce with who did it). Kept in memory only,
 * the last {@link #CAPACITY} events (a restart forgets them; the queue's own rows keep the last answer of what is
 * still queued). Bounded: every text is cut to {@link #MAX_TEXT} characters.
 */
public final class DeliveryLog {
  /** Events kept: at most about 5 MB with every text at its longest (the server's heap is 320 MB). */
  static final int CAPACITY = 10_000;
  static final int MAX_TEXT = 300;
  /** Header summaries kept (the queue entries attempted last), each field at most {@link #MAX_FIELD}. */
  static final int SUMMARIES = 5_000;
  static final int MAX_FIELD = 200;
  /** How much of a message's header section is read for its Message-ID. */
  static final int HEADER_LIMIT = 32 * 1024;

  /**
   * One event.
   *
   * @param queueId   the queue entry's id ({@code darwinmail queue list}, the console's queue page)
   * @param kind      queued, delivered, deferred, bounced, held, released, retried, deleted
   * @param recipient the recipient, or "" for an event of the whole message
   * @param remote    the remote MTA that answered, or ""
   * @param detail    the remote answer or what was done (and by whom)
   */
  public record Event(Instant at, long queueId, String kind, String sender, String recipient, String messageId,
      String remote, String detail) {}

  private final ArrayDeque<Event> events = new ArrayDeque<>();
  /** The Message-ID of each queue entry seen lately (the oldest forgotten first). */
  private final java.util.LinkedHashMap<Long, Summary> summaries = new java.util.LinkedHashMap<>(64, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(java.util.Map.Entry<Long, Summary> eldest) {
      return size() > Math.min(capacity, SUMMARIES);
    }
  };
  private final int capacity;

  public DeliveryLog() {
    this(CAPACITY);
  }

  DeliveryLog(int capacity) {
    this.capacity = capacity;
  }

  /** Records one event. */
  public void add(long queueId, String kind, String sender, String recipient, String remote, String detail) {
    Event e = new Event(Instant.now(), queueId, kind, cut(sender), cut(recipient), "", cut(remote), cut(detail));
    synchronized (events) {
      if (events.size() >= capacity) {
        events.removeFirst();
      }
      events.addLast(e);
    }
  }

  private static String cut(String s) {
    if (s == null) {
      return "";
    }
    return s.length() > MAX_TEXT ? s.substring(0, MAX_TEXT) + "…" : s;
  }

  /** A queued message's Message-ID, From and Subject as written in its header ("" for each one missing). */
  public record Summary(String messageId, String from, String subject) {}

  /** The summary recorded for a queue entry, or null when none was recorded. */
  public Summary summaryOf(long queueId) {
    synchronized (events) {
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
    synchronized (events) {
      summaries.put(queueId, summary);
    }
  }

  /**
   * Every event of the messages that match {@code query}: a queue id (digits), a Message-ID (with or without its
   * angle brackets) or a recipient address (case-insensitive). Oldest first, at most {@code limit}.
   */
  public List<Event> trace(String query, int limit) {
    String q = query.strip().toLowerCase(Locale.ROOT);
    String bare = q.startsWith("<") && q.endsWith(">") ? q.substring(1, q.length() - 1) : q;
    List<Event> all = new ArrayList<>();
    synchronized (events) {
      for (Event e : events) {
        Summary sm = summaries.get(e.queueId());
        String mid = sm == null ? null : sm.messageId();
        all.add(mid == null ? e : new Event(e.at(), e.queueId(), e.kind(), e.sender(), e.recipient(), mid,
            e.remote(), e.detail()));
      }
    }
    java.util.Set<Long> ids = new java.util.HashSet<>();
    for (Event e : all) {
      String mid = e.messageId().toLowerCase(Locale.ROOT);
      boolean byMessageId = !bare.isEmpty() && (mid.equals(bare) || mid.equals("<" + bare + ">"));
      if (String.valueOf(e.queueId()).equals(q) || byMessageId || e.recipient().equalsIgnoreCase(q)) {
        ids.add(e.queueId());
      }
    }
    List<Event> out = new ArrayList<>();
    for (Event e : all) {
      if (ids.contains(e.queueId()) && out.size() < limit) {
        out.add(e);
      }
    }
    return out;
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
