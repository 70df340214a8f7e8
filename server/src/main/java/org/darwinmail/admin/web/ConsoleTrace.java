package org.darwinmail.admin.web;

import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.darwinmail.delivery.DeliveryEngine;
import org.darwinmail.delivery.DeliveryLog;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.QueueRepository;
import org.darwinmail.store.TraceRepository;

/**
 * GET /api/trace?q=&offset=: the delivery trace by queue id, Message-ID or recipient: the messages still queued that
 * match (each recipient's attempts and last remote answer, from the queue's rows) and a page of the events stored
 * ({@link TraceRepository}, table {@code trace_events}: received, queued, stored in a local mailbox, each attempt's
 * remote host and answer, delivered, deferred, bounced, and administrators' actions), newest first. The events
 * outlive restarts and are the same on every node of a shared database; they are kept
 * {@code delivery.trace_retention_days}, at most {@code delivery.trace_max_rows}.
 */
final class ConsoleTrace {
  /** Events a page holds. */
  static final int PAGE = 100;
  /** The furthest a page may start: paging stays an index read, never a walk through the whole table. */
  static final int MAX_OFFSET = 100_000;
  /** Queued messages whose header section is read, at most, to find a Message-ID not seen yet. */
  static final int MAX_HEADER_READS = 5000;

  private final QueueRepository queue;
  private final DeliveryEngine engine;
  private final BlobStore blobs;
  private final TraceRepository events;
  private final org.darwinmail.config.DeliveryConfig config;

  ConsoleTrace(QueueRepository queue, DeliveryEngine engine, BlobStore blobs, TraceRepository events,
      org.darwinmail.config.DeliveryConfig config) {
    this.queue = queue;
    this.engine = engine;
    this.blobs = blobs;
    this.events = events;
    this.config = config;
  }

  /** The offset parameter: "" is 0; digits up to {@link #MAX_OFFSET}, else a clear refusal. */
  static int offset(String s) {
    if (s.isEmpty()) {
      return 0;
    }
    if (!s.matches("[0-9]{1,6}") || Integer.parseInt(s) > MAX_OFFSET) {
      throw new Api.BadRequest(422, "offset must be a number from 0 to " + MAX_OFFSET);
    }
    return Integer.parseInt(s);
  }

  private static String bare(String id) {
    String s = id.strip().toLowerCase(Locale.ROOT);
    return s.startsWith("<") && s.endsWith(">") ? s.substring(1, s.length() - 1) : s;
  }

  private DeliveryLog.Summary summary(QueueRepository.Entry m, int[] reads) {
    DeliveryLog.Summary known = engine.trace().summaryOf(m.id());
    if (known != null || reads[0]++ >= MAX_HEADER_READS) {
      return known;
    }
    DeliveryLog.Summary s;
    try (InputStream in = blobs.open(m.blob())) {
      s = DeliveryLog.summary(in);
    } catch (Exception e) {
      return null;
    }
    engine.trace().summary(m.id(), s);
    return s;
  }

  /** One event as the API gives it (the queue id null for a message not queued). */
  static Map<String, Object> json(TraceRepository.Event ev) {
    Map<String, Object> x = new LinkedHashMap<>();
    x.put("at", ev.at().toString());
    x.put("id", ev.queueId() == 0 ? null : ev.queueId());
    x.put("event", ev.kind());
    x.put("sender", ev.sender());
    x.put("recipient", ev.recipient());
    x.put("messageId", ev.messageId());
    x.put("client", ev.client());
    x.put("size", ev.size());
    x.put("remote", ev.remote());
    x.put("detail", ev.detail());
    return x;
  }

  Response get(Request r) {
    String q = Console.param(r, "q");
    if (q.isEmpty()) {
      throw new Api.BadRequest(422, "give a queue id, a Message-ID or a recipient address");
    }
    int offset = offset(Console.param(r, "offset"));
    String lower = q.toLowerCase(Locale.ROOT);
    Instant now = Instant.now();
    int[] reads = {0};
    List<Map<String, Object>> queued = new ArrayList<>();
    for (var e : queue.list().entrySet()) {
      QueueRepository.Entry m = e.getKey();
      boolean match = String.valueOf(m.id()).equals(q)
          || e.getValue().stream().anyMatch(x -> x.recipient().equalsIgnoreCase(q));
      DeliveryLog.Summary sm = match ? engine.trace().summaryOf(m.id()) : null;
      if (!match && q.contains("@")) {
        sm = summary(m, reads);
        match = sm != null && !sm.messageId().isEmpty() && bare(sm.messageId()).equals(bare(lower));
      }
      if (!match) {
        continue;
      }
      Map<String, Object> msg = new LinkedHashMap<>();
      msg.put("id", m.id());
      msg.put("created", m.created().toString());
      msg.put("sender", m.sender());
      msg.put("account", m.account());
      msg.put("size", m.size());
      msg.put("messageId", sm == null ? null : sm.messageId());
      msg.put("from", sm == null ? null : sm.from());
      msg.put("subject", sm == null ? null : sm.subject());
      List<Map<String, Object>> rcpts = new ArrayList<>();
      for (QueueRepository.Rcpt x : e.getValue()) {
        Map<String, Object> rc = new LinkedHashMap<>();
        rc.put("recipient", x.recipient());
        rc.put("state", ConsoleQueue.state(x, now));
        rc.put("attempts", x.attempts());
        rc.put("lastAnswer", x.lastError());
        rcpts.add(rc);
      }
      msg.put("recipients", rcpts);
      queued.add(msg);
    }
    TraceRepository.Page page = events.search(q, offset, PAGE);
    List<Map<String, Object>> list = new ArrayList<>();
    for (TraceRepository.Event ev : page.events()) {
      list.add(json(ev));
    }
    // what each traced queue entry was, as its header said (read at its first attempt, while this process runs)
    Map<String, Object> messages = new LinkedHashMap<>();
    for (TraceRepository.Event ev : page.events()) {
      DeliveryLog.Summary sm = ev.queueId() == 0 ? null : engine.trace().summaryOf(ev.queueId());
      if (sm != null) {
        messages.putIfAbsent(String.valueOf(ev.queueId()), sm);
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("query", q);
    out.put("messages", messages);
    out.put("queued", queued);
    out.put("events", list);
    out.put("offset", offset);
    out.put("page", PAGE);
    out.put("more", page.more());
    out.put("note", "Events are kept " + config.traceRetentionDays() + " days, at most "
        + String.format(Locale.ROOT, "%,d", config.traceMaxRows()) + ", newest first; the queue's rows keep each"
        + " queued recipient's last answer.");
    return Response.json(200, out);
  }
}
