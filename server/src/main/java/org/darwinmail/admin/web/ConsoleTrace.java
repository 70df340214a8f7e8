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

/**
 * GET /api/trace?q=: the delivery trace of outbound mail by queue id, Message-ID or recipient: the messages still
 * queued that match (each recipient's attempts and last remote answer, from the queue's rows) and the events the
 * delivery engine recorded lately ({@link DeliveryLog}: queued, each attempt's remote answer, delivered, deferred,
 * bounced, and administrators' actions). The events are kept in memory only: a restart forgets them.
 */
final class ConsoleTrace {
  static final int MAX_EVENTS = 1000;
  /** Queued messages whose header section is read, at most, to find a Message-ID not seen yet. */
  static final int MAX_HEADER_READS = 5000;

  private final QueueRepository queue;
  private final DeliveryEngine engine;
  private final BlobStore blobs;

  ConsoleTrace(QueueRepository queue, DeliveryEngine engine, BlobStore blobs) {
    this.queue = queue;
    this.engine = engine;
    this.blobs = blobs;
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

  Response get(Request r) {
    String q = Console.param(r, "q");
    if (q.isEmpty()) {
      throw new Api.BadRequest(422, "give a queue id, a Message-ID or a recipient address");
    }
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
    List<Map<String, Object>> events = new ArrayList<>();
    for (DeliveryLog.Event ev : engine.trace().trace(q, MAX_EVENTS)) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("at", ev.at().toString());
      x.put("id", ev.queueId());
      x.put("event", ev.kind());
      x.put("sender", ev.sender());
      x.put("recipient", ev.recipient());
      x.put("messageId", ev.messageId());
      x.put("remote", ev.remote());
      x.put("detail", ev.detail());
      events.add(x);
    }
    // what each traced message was, as its header said (read at its first attempt)
    Map<String, Object> messages = new LinkedHashMap<>();
    for (DeliveryLog.Event ev : engine.trace().trace(q, MAX_EVENTS)) {
      DeliveryLog.Summary sm = engine.trace().summaryOf(ev.queueId());
      if (sm != null) {
        messages.putIfAbsent(String.valueOf(ev.queueId()), sm);
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("query", q);
    out.put("messages", messages);
    out.put("queued", queued);
    out.put("events", events);
    out.put("note", "Events are kept in memory since the server started (the last 10,000); the queue's rows"
        + " keep each queued recipient's last answer.");
    return Response.json(200, out);
  }
}
