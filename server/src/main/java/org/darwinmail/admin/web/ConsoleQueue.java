package org.darwinmail.admin.web;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.darwinmail.delivery.DeliveryEngine;
import org.darwinmail.guard.SendGuard;
import org.darwinmail.store.Addresses;
import org.darwinmail.store.QueueRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * The outbound queue's page: {@code GET /api/queue} lists the queued messages with each recipient's attempts, next
 * attempt and last remote answer, filtered by recipient, sender, domain and state; {@code POST /api/queue/ACTION}
 * with {@code {"ids": [...]}} retries, holds, releases, deletes or bounces messages through the delivery engine
 * ({@link DeliveryEngine#retryNow}, {@link DeliveryEngine#hold}, {@link DeliveryEngine#delete}, {@link
 * DeliveryEngine#bounce}: a DSN to the sender through the one acceptance path).
 */
final class ConsoleQueue {
  private static final Logger log = LoggerFactory.getLogger(ConsoleQueue.class);
  /** Messages shown at most (the filter narrows a bigger queue). */
  static final int MAX_SHOWN = 500;
  /** IDs in one action at most. */
  static final int MAX_IDS = 1000;
  /** A recipient whose next attempt is further away than this is held (a hold pushes it ten years out). */
  static final Duration HELD_AFTER = Duration.ofDays(365);
  static final List<String> STATES = List.of("due", "deferred", "held");

  private final QueueRepository queue;
  private final DeliveryEngine engine;
  private final SendGuard sends;

  ConsoleQueue(QueueRepository queue, DeliveryEngine engine, SendGuard sends) {
    this.queue = queue;
    this.engine = engine;
    this.sends = sends;
  }

  static String state(QueueRepository.Rcpt r, Instant now) {
    if (r.nextAttempt().isAfter(now.plus(HELD_AFTER))) {
      return "held";
    }
    return r.nextAttempt().isAfter(now) ? "deferred" : "due";
  }

  Response list(Request r) {
    String recipient = Console.param(r, "recipient").toLowerCase(Locale.ROOT);
    String sender = Console.param(r, "sender").toLowerCase(Locale.ROOT);
    String domain = Console.param(r, "domain").toLowerCase(Locale.ROOT);
    String state = Console.param(r, "state");
    if (!state.isEmpty() && !STATES.contains(state)) {
      throw new Api.BadRequest(422, "state is one of " + STATES);
    }
    Instant now = Instant.now();
    List<Map<String, Object>> shown = new ArrayList<>();
    int matched = 0;
    int total = 0;
    for (var e : queue.list().entrySet()) {
      QueueRepository.Entry m = e.getKey();
      total++;
      if (!sender.isEmpty() && !m.sender().toLowerCase(Locale.ROOT).contains(sender)) {
        continue;
      }
      boolean any = false;
      List<Map<String, Object>> rcpts = new ArrayList<>();
      for (QueueRepository.Rcpt x : e.getValue()) {
        String st = state(x, now);
        String dom = Addresses.domainOf(x.recipient().toLowerCase(Locale.ROOT));
        any |= (recipient.isEmpty() || x.recipient().toLowerCase(Locale.ROOT).contains(recipient))
            && (domain.isEmpty() || (dom != null && (dom.equals(domain) || dom.endsWith("." + domain))))
            && (state.isEmpty() || st.equals(state));
        Map<String, Object> rc = new LinkedHashMap<>();
        rc.put("recipient", x.recipient());
        rc.put("state", st);
        rc.put("attempts", x.attempts());
        rc.put("nextAttempt", st.equals("held") ? null : x.nextAttempt().toString());
        rc.put("lastAnswer", x.lastError());
        rcpts.add(rc);
      }
      if (!any) {
        continue;
      }
      matched++;
      if (shown.size() >= MAX_SHOWN) {
        continue;
      }
      Map<String, Object> msg = new LinkedHashMap<>();
      msg.put("id", m.id());
      msg.put("queuedAs", m.blob().substring(0, Math.min(12, m.blob().length())));
      msg.put("created", m.created().toString());
      msg.put("sender", m.sender());
      msg.put("size", m.size());
      msg.put("account", m.account());
      msg.put("senderBlocked", m.account() != null && sends.held(m.account()));
      var summary = engine.trace().summaryOf(m.id()); // read at the first attempt
      msg.put("messageId", summary == null ? null : summary.messageId());
      msg.put("from", summary == null ? null : summary.from());
      msg.put("subject", summary == null ? null : summary.subject());
      msg.put("recipients", rcpts);
      shown.add(msg);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("total", total);
    out.put("matched", matched);
    out.put("messages", shown);
    return Response.json(200, out);
  }

  /** POST /api/queue/retry|hold|release|delete|bounce {"ids": [1, 2]}. */
  Response act(Request r, String who) {
    String action = r.path().substring("/api/queue/".length());
    JsonNode ids = Console.body(r).get("ids");
    if (ids == null || !ids.isArray() || ids.isEmpty() || ids.size() > MAX_IDS) {
      throw new Api.BadRequest(422, "give ids: 1 to " + MAX_IDS + " queue ids");
    }
    List<Map<String, Object>> results = new ArrayList<>();
    for (JsonNode n : ids) {
      if (!n.canConvertToLong()) {
        throw new Api.BadRequest(422, "ids are numbers");
      }
      long id = n.asLong();
      Map<String, Object> res = new LinkedHashMap<>();
      res.put("id", id);
      QueueRepository.Entry m = queue.message(id).orElse(null);
      if (m != null && m.account() != null && sends.held(m.account())
          && (action.equals("retry") || action.equals("release"))) {
        res.put("done", false);
        res.put("why", "the sender " + m.account() + " is blocked: unblock it on the senders page first");
        results.add(res);
        continue;
      }
      DeliveryEngine.Action a = switch (action) {
        case "retry" -> engine.retryNow(id, "retried", who);
        case "release" -> engine.retryNow(id, "released", who);
        case "hold" -> engine.hold(id, who);
        case "delete" -> engine.delete(id, who);
        case "bounce" -> engine.bounce(id, who);
        default -> throw new Api.BadRequest(404, "no such queue action: " + action);
      };
      res.put("done", a.found());
      res.put("recipients", a.recipients());
      res.put("inFlight", a.inFlight());
      if (!a.found()) {
        res.put("why", "not in the queue (delivered or removed meanwhile)");
      } else if (a.inFlight() > 0) {
        res.put("why", a.inFlight() + " recipient(s) in a delivery attempt right now were left alone");
      }
      results.add(res);
    }
    log.info("admin: {} {} queue entries {}", who, action, results.stream().map(x -> x.get("id")).toList());
    return Response.json(200, Map.of("action", action, "results", results));
  }
}
