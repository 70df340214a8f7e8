package org.darwinmail.guard;

import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.darwinmail.config.SendConfig;
import org.darwinmail.config.SendLimits;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.delivery.Acceptance;
import org.darwinmail.delivery.LocalDelivery;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Directory;
import org.darwinmail.store.SenderRepository;
import org.darwinmail.store.SenderRepository.Block;
import org.darwinmail.store.SenderRepository.Tally;
import org.darwinmail.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Outbound abuse guard (ARCHITECTURE.md, "The abuse guard and login throttling"; issue 6): per-account limits over
 * several windows at once (minute, hour, day) counting messages, recipients and first-time recipients; crossing one
 * answers {@code 451 4.7.1}. Crossing the burst threshold (messages or recipients within the burst window, attempts
 * refused by a limit included) blocks the account: its submissions get {@code 550 5.7.1}, its queued mail is held
 * ({@link #held}), the block is stored with its figures (it survives restarts) and the postmaster is told (a message, a
 * log line, a metric).
 *
 * <p>A submission session uses it as a transaction: {@link #begin} at MAIL, {@link Tx#rcpt} at each RCPT,
 * {@link Tx#accept} just before the message is made durable (authoritative: counted atomically, so concurrent
 * sessions cannot slip past a limit).
 */
public final class SendGuard {
  private static final Logger log = LoggerFactory.getLogger(SendGuard.class);
  private static final long MINUTE = 60_000L;
  private static final long HOUR = 60 * MINUTE;
  private static final long DAY = 24 * HOUR;

  private final SendConfig config;
  private final String hostname;
  private final SenderRepository repository;
  private final Directory directory;
  /** Where the postmaster notice goes, and who the postmaster is. */
  private final Acceptance acceptance;
  private final Clock clock;
  private final Map<String, Counters> counters = new ConcurrentHashMap<>();
  private final Map<String, Block> blocks = new ConcurrentHashMap<>();
  private final HeldMailQueue queue;
  /** Orders {@link #reload} and an unblock's removal of the block (the database's and the map's). */
  private final Object reloading = new Object();
  /** The burst counts come from every node sharing the database ({@link #countAcrossNodes}); else this one's. */
  private volatile boolean acrossNodes;

  /** @param queue the outbound queue's side of holding a blocked account's mail */
  public SendGuard(ServerConfig config, SenderRepository repository, Directory directory, Acceptance acceptance,
      HeldMailQueue queue) {
    this(config, repository, directory, acceptance, queue, Clock.systemUTC());
  }

  /** For a guard alone (tests): the postmaster notice through an acceptance service of its own, local only. */
  public SendGuard(ServerConfig config, SenderRepository repository, Directory directory, BlobStore blobs,
      LocalDelivery local, HeldMailQueue queue, Clock clock) {
    this(config, repository, directory, new Acceptance(config, directory, blobs, local, null), queue, clock);
  }

  public SendGuard(ServerConfig config, SenderRepository repository, Directory directory, Acceptance acceptance,
      HeldMailQueue queue, Clock clock) {
    this.config = config.guard().send();
    this.hostname = config.hostname();
    this.repository = repository;
    this.directory = directory;
    this.acceptance = acceptance;
    this.clock = clock;
    this.queue = queue;
    for (Block b : repository.blocks()) {
      blocks.put(b.account(), b);
    }
  }

  /**
   * Hears of blocks and unblocks made on other nodes (ARCHITECTURE.md, "The cluster event channel"): the account's
   * block is read again from the database and takes effect here at once; an unblock forgives the counted burst as
   * it does on the node that lifted it. "Anything may have changed" (the channel reconnected) reads every block.
   */
  public void listen(org.darwinmail.store.ClusterEvents cluster) {
    cluster.subscribe(org.darwinmail.store.ClusterEvents.Topic.SENDER, this::reload);
  }

  /**
   * Counts bursts over every node sharing the database (ARCHITECTURE.md, "Several nodes"; issue 20): each accepted
   * message, and each attempt refused by a limit, is added to the account's shared counts (table sender_counts)
   * and the burst is judged on their sum, so a burst spread over several nodes blocks the account as on one node.
   * The minute, hour and day limits are judged on every node's counts too (table sender_rates, {@link #sharedRate}).
   * Not called on one node (Derby): the counts stay in memory, at no extra cost.
   */
  public void countAcrossNodes() {
    acrossNodes = true;
  }

  /**
   * Takes the stored block of {@code account} (null: of every account) as this guard's. Runs under
   * {@link #reloading}, as an unblock here does: a re-read that saw a block just before this node's unblock deleted
   * it cannot put it back after (the unblocking node does not hear its own event, so it would stay blocked).
   */
  private void reload(String account) {
    synchronized (reloading) {
      reloadLocked(account);
    }
  }

  private void reloadLocked(String account) {
    Map<String, Block> stored = new java.util.HashMap<>();
    for (Block b : repository.blocks()) {
      stored.put(key(b.account()), b);
    }
    java.util.Collection<String> accounts = account == null
        ? new HashSet<>(blocks.keySet()) : List.of(key(account));
    if (account == null) {
      accounts.addAll(stored.keySet());
    }
    for (String a : accounts) {
      Block b = stored.get(a);
      if (b != null) {
        if (blocks.put(a, b) == null) {
          log.info("sender {} blocked on another node: {}", a, b.reason());
        }
      } else if (account == null && young(blocks.get(a))) {
        continue; // blocked here a moment ago, maybe not stored yet: a missed unblock comes with its own event
      } else if (blocks.remove(a) != null) {
        counters.remove(a);
        log.info("sender {} unblocked on another node", a);
      }
    }
  }

  private boolean young(Block b) {
    return b != null && b.since().isAfter(clock.instant().minusSeconds(60));
  }

  // ---- the verdicts ------------------------------------------------------------------------------------------

  /** What the session answers: go on, {@code 451 4.7.1} (limited, try later) or {@code 550 5.7.1} (blocked). */
  public enum Outcome { OK, LIMITED, BLOCKED }

  public record Verdict(Outcome outcome, String reason) {
    static final Verdict OK = new Verdict(Outcome.OK, "");

    public boolean ok() {
      return outcome == Outcome.OK;
    }
  }

  /** True while {@code account} is blocked: the queue must not deliver mail it submitted. */
  public boolean held(String account) {
    return account != null && blocks.containsKey(key(account));
  }

  /** True when some account is blocked (the queue looks a message's sender up only then). */
  public boolean anyHeld() {
    return !blocks.isEmpty();
  }

  /** Every block in force, oldest first. */
  public List<Block> blocked() {
    return blocks.values().stream().sorted((a, b) -> a.since().compareTo(b.since())).toList();
  }

  /** The result of lifting a block: whether there was one, and how much held mail was released or deleted. */
  public record Unblocked(boolean wasBlocked, int released, int deleted) {}

  /**
   * Lifts the block of {@code account}: its held mail becomes due now (or, with {@code deleteHeld}, is deleted); the
   * caller wakes the delivery engine ({@code DeliveryEngine.wake}) so that it goes at once.
   */
  public Unblocked unblock(String account, boolean deleteHeld) {
    return unblock(account, deleteHeld ? HeldMail.DELETE : HeldMail.RELEASE);
  }

  /** What becomes of a blocked account's held mail when the block is lifted. */
  public enum HeldMail {
    /** sent now */
    RELEASE,
    /** left held in the queue, to be looked at and released (or deleted) one message at a time */
    KEEP,
    /** deleted without a notice */
    DELETE
  }

  /** Lifts the block of {@code account}; its held mail is released, kept held or deleted. */
  public Unblocked unblock(String account, HeldMail held) {
    boolean deleteHeld = held == HeldMail.DELETE;
    String a = key(account);
    boolean stored;
    Block b;
    synchronized (reloading) {
      stored = repository.removeBlock(a);
      b = blocks.remove(a);
      counters.remove(a); // a fresh start: the burst that caused the block is forgiven
    }
    HeldMailQueue q = queue;
    int released = 0;
    int deleted = 0;
    if (q != null) {
      if (deleteHeld) {
        deleted = q.deleteQueued(a);
      } else if (held == HeldMail.RELEASE) {
        released = q.countQueued(a);
        q.released(a);
      }
    }
    if (stored || b != null) {
      log.info("sender {} unblocked: {} held message(s) {}", a, deleteHeld ? deleted : released,
          held == HeldMail.KEEP ? "kept held" : deleteHeld ? "deleted" : "released");
    }
    return new Unblocked(stored || b != null, released, deleted);
  }

  /** Starts a submission by {@code account} (at MAIL FROM). */
  public Tx begin(String account) {
    String a = key(account);
    Tx tx = new Tx(a);
    tx.verdict = tx.begin();
    return tx;
  }

  /** One mail transaction of an authenticated account. */
  public final class Tx {
    private final String account;
    private final Set<String> recipients = new HashSet<>();
    private int fresh;
    private Verdict verdict;

    private Tx(String account) {
      this.account = account;
    }

    /** The verdict at MAIL FROM. */
    public Verdict verdict() {
      return verdict;
    }

    /**
     * What the account's standing decides before any limit: blocked, its verdict (read once: an unblock in between
     * cannot leave a block half seen); exempt from the limits, OK; else null, and the limits decide.
     */
    private Verdict standing() {
      Block b = blocks.get(account);
      if (b != null) {
        return blockedVerdict(b);
      }
      return exempt(account) ? Verdict.OK : null;
    }

    private Verdict begin() {
      Verdict standing = standing();
      if (standing != null) {
        return standing;
      }
      SendLimits l = config.limitsFor(account);
      Counters c = counters(account);
      synchronized (c) {
        long now = clock.millis();
        if (over(c.burstMessages(now), 1, l.burstMessages())) {
          return block(c, l, now, "burst");
        }
        Verdict v = rate(c.sums(now), l, 1, 0, 0);
        if (!v.ok()) {
          c.burstMessages.add(now, 1); // knocking on after 451 is part of a burst
          if (shared(c, l, now, 1, 0)) {
            return block(c, l, now, "burst");
          }
          limited(v);
        }
        return v;
      }
    }

    /** The verdict for one more recipient (at RCPT TO); counted only when the message is accepted. */
    public Verdict rcpt(String recipient) {
      Verdict standing = standing();
      if (standing != null) {
        return standing;
      }
      String r = recipient.toLowerCase(Locale.ROOT);
      boolean isNew = !recipients.contains(r) && !known(account).contains(r);
      SendLimits l = config.limitsFor(account);
      Counters c = counters(account);
      synchronized (c) {
        long now = clock.millis();
        int n = recipients.size() + 1;
        if (over(c.burstRecipients(now), n, l.burstRecipients())) {
          return block(c, l, now, "burst");
        }
        Verdict v = rate(c.sums(now), l, 0, n, fresh + (isNew ? 1 : 0));
        if (!v.ok()) {
          limited(v);
          return v;
        }
      }
      if (recipients.add(r) && isNew) {
        fresh++;
      }
      return Verdict.OK;
    }

    /**
     * The message is about to be accepted: counts it and its recipients, atomically with the checks. Not OK means
     * the message must be refused with the verdict (nothing was counted but the attempt).
     */
    public Verdict accept() {
      Verdict standing = standing();
      if (standing != null) {
        return standing;
      }
      SendLimits l = config.limitsFor(account);
      Counters c = counters(account);
      Set<String> known = known(account);
      List<String> newOnes = new ArrayList<>();
      synchronized (c) {
        long now = clock.millis();
        int n = recipients.size();
        if (over(c.burstMessages(now), 1, l.burstMessages())
            || over(c.burstRecipients(now), n, l.burstRecipients())) {
          return block(c, l, now, "burst");
        }
        for (String r : recipients) {
          if (!known.contains(r)) {
            newOnes.add(r);
          }
        }
        Verdict v = rate(c.sums(now), l, 1, n, newOnes.size());
        if (v.ok() && acrossNodes) {
          v = sharedRate(c, l, now, 1, n, newOnes.size()); // every node's counts; this message added when OK
        }
        if (!v.ok()) {
          c.burstMessages.add(now, 1);
          if (shared(c, l, now, 1, 0)) {
            return block(c, l, now, "burst");
          }
          limited(v);
          return v;
        }
        if (shared(c, l, now, 1, n)) {
          return block(c, l, now, "burst"); // the other nodes' messages and this one make a burst
        }
        c.add(now, 1, n, newOnes.size());
        known.addAll(newOnes);
      }
      remember(account, newOnes);
      return Verdict.OK;
    }
  }

  // ---- limits ------------------------------------------------------------------------------------------------

  private boolean exempt(String account) {
    return !config.enabled() || config.allowlisted(account);
  }

  /** Would {@code current + adding} go over {@code limit}? (0 = no limit.) */
  private static boolean over(long current, long adding, int limit) {
    return limit > 0 && adding > 0 && current + adding > limit;
  }

  /** The windows of the limits, in seconds, in the order of {@link Sums}: minute, hour, day. */
  private static final int[] WINDOWS = {60, 3600, 86_400};

  /** An account's counts over the limits' windows: this node's ({@link Counters#sums}) or every node's. */
  private record Sums(Tally minute, Tally hour, Tally day) {
    static Sums of(List<Tally> t) {
      return new Sums(t.get(0), t.get(1), t.get(2));
    }
  }

  /** Sums over every limit: {@link #rate} refuses one more unless no limit is set. */
  private static final Sums MAXED = new Sums(new Tally(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE),
      new Tally(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE),
      new Tally(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE));

  /** The verdict of the limits for {@code msgs}, {@code rcpts} and {@code fresh} more on top of {@code s}. */
  private static Verdict rate(Sums s, SendLimits l, int msgs, int rcpts, int fresh) {
    String what = over(s.minute().messages(), msgs, l.messagesPerMinute()) ? l.messagesPerMinute() + " messages per minute"
        : over(s.hour().messages(), msgs, l.messagesPerHour()) ? l.messagesPerHour() + " messages per hour"
        : over(s.day().messages(), msgs, l.messagesPerDay()) ? l.messagesPerDay() + " messages per day"
        : over(s.minute().recipients(), rcpts, l.recipientsPerMinute()) ? l.recipientsPerMinute() + " recipients per minute"
        : over(s.hour().recipients(), rcpts, l.recipientsPerHour()) ? l.recipientsPerHour() + " recipients per hour"
        : over(s.day().recipients(), rcpts, l.recipientsPerDay()) ? l.recipientsPerDay() + " recipients per day"
        : over(s.hour().fresh(), fresh, l.newRecipientsPerHour()) ? l.newRecipientsPerHour() + " new recipients per hour"
        : over(s.day().fresh(), fresh, l.newRecipientsPerDay()) ? l.newRecipientsPerDay() + " new recipients per day"
        : null;
    return what == null ? Verdict.OK
        : new Verdict(Outcome.LIMITED, "Sending limit reached (" + what + "), try again later");
  }

  /**
   * On several nodes ({@link #countAcrossNodes}), the authoritative limits: the verdict on the sums of every node
   * (table sender_rates), read and, when OK, added to in one transaction that takes turns with every node's count
   * of the account (ARCHITECTURE.md, "Several nodes"). When the database cannot be reached, this node's counts,
   * already checked, decide (logged).
   */
  private Verdict sharedRate(Counters c, SendLimits l, long now, int msgs, int rcpts, int fresh) {
    if (rate(MAXED, l, 1, 1, 1).ok()) {
      return Verdict.OK; // no limit set: nothing to count
    }
    try {
      List<Tally> sums = repository.rates(c.account, now, WINDOWS, new Tally(msgs, rcpts, fresh),
          t -> rate(Sums.of(t), l, msgs, rcpts, fresh).ok());
      return rate(Sums.of(sums), l, msgs, rcpts, fresh);
    } catch (StoreException e) {
      log.warn("cannot count {} on the shared database ({}): this node's limits decide", c.account, e.getMessage());
      return Verdict.OK;
    }
  }

  /**
   * On several nodes ({@link #countAcrossNodes}): adds {@code msgs} and {@code rcpts} to the account's shared counts
   * and keeps the sums every node made; true when they, this addition included, go over a burst threshold. On one
   * node, or when the database cannot be reached (logged; this node's counts then decide), false.
   */
  private boolean shared(Counters c, SendLimits l, long now, int msgs, int rcpts) {
    if (!acrossNodes) {
      return false;
    }
    long bucket = c.burstMessages.bucketStart(now);
    SenderRepository.Counts sum;
    try {
      sum = repository.count(c.account, bucket, msgs, rcpts, now - c.burstMessages.lengthMillis());
    } catch (StoreException e) {
      log.warn("cannot count {} on the shared database ({}): this node's counts decide", c.account, e.getMessage());
      return false;
    }
    c.shared = sum;
    c.sharedAt = now;
    int burstMsgs = l.burstMessages();
    int burstRcpts = l.burstRecipients();
    return (burstMsgs > 0 && msgs > 0 && sum.messages() > burstMsgs)
        || (burstRcpts > 0 && rcpts > 0 && sum.recipients() > burstRcpts);
  }

  private void limited(Verdict v) {
    Metrics.counter("darwinmail.guard.send.limited").increment();
  }

  private static Verdict blockedVerdict(Block b) {
    return new Verdict(Outcome.BLOCKED, "Sending from " + b.account()
        + " is blocked after an unusual burst of mail; contact your administrator");
  }

  /** Records the block (durably, then in memory), tells the postmaster, and returns the BLOCKED verdict. */
  private Verdict block(Counters c, SendLimits l, long now, String why) {
    int msgs = (int) c.burstMessages(now);
    int rcpts = (int) c.burstRecipients(now);
    int window = l.burstWindowSeconds();
    Block b = new Block(c.account, Instant.ofEpochMilli(now), why + ": " + msgs + " messages, " + rcpts
        + " recipients in " + window + " s (thresholds " + l.burstMessages() + " messages, " + l.burstRecipients()
        + " recipients)", msgs, rcpts, window);
    if (blocks.putIfAbsent(c.account, b) != null) {
      return blockedVerdict(blocks.get(c.account));
    }
    try {
      repository.addBlock(b);
    } catch (StoreException e) {
      log.error("cannot store the block of {} (it holds until restart)", b.account(), e);
    }
    HeldMailQueue q = queue;
    if (q != null) {
      try {
        q.hold(b.account());
      } catch (RuntimeException e) {
        log.error("cannot hold the queued mail of {}", b.account(), e);
      }
    }
    log.warn("sender {} BLOCKED: {}; its queued mail is held. Lift with: darwinmail sender unblock {}",
        b.account(), b.reason(), b.account());
    Metrics.counter("darwinmail.guard.senders.blocked").increment();
    Thread.startVirtualThread(() -> notifyPostmaster(b));
    return blockedVerdict(b);
  }

  // ---- the postmaster's message ------------------------------------------------------------------------------

  /** The address told of blocks: the admin mailbox ({@link Acceptance#admin}). */
  public String postmaster() {
    return acceptance.admin();
  }

  /** The notice goes through the acceptance service like any message (local copies only: no queue here). */
  private void notifyPostmaster(Block b) {
    String to = postmaster();
    try {
      String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(clock));
      String text = "From: Darwin Mail <MAILER-DAEMON@" + hostname + ">\r\n"
          + "To: <" + to + ">\r\n"
          + "Subject: Sending blocked for " + b.account() + "\r\n"
          + "Date: " + date + "\r\n"
          + "Message-ID: <" + UUID.randomUUID() + "@" + hostname + ">\r\n"
          + "Auto-Submitted: auto-generated\r\n" // RFC 3834 §5
          + "MIME-Version: 1.0\r\n"
          + "Content-Type: text/plain; charset=utf-8\r\n"
          + "\r\n"
          + "The account " + b.account() + " sent an unusual burst of mail and has been blocked from sending.\r\n"
          + "\r\n"
          + "  when:    " + b.since() + "\r\n"
          + "  figures: " + b.reason() + "\r\n"
          + "\r\n"
          + "Its submissions are refused and the mail it has in the queue is held. If the account was\r\n"
          + "compromised, change its password first. Then lift the block with\r\n"
          + "\r\n"
          + "  darwinmail sender unblock " + b.account() + "                (releases the held mail)\r\n"
          + "  darwinmail sender unblock " + b.account() + " --delete-held  (deletes it)\r\n";
      if (acceptance.submit("", List.of(to), text.getBytes(StandardCharsets.UTF_8), false).local() == 0) {
        log.warn("nobody local receives {}: the block of {} is only in this log", to, b.account());
        return;
      }
      log.info("told {} of the block of {}", to, b.account());
    } catch (IOException | RuntimeException e) {
      log.error("cannot tell {} of the block of {}", to, b.account(), e);
    }
  }

  // ---- state -------------------------------------------------------------------------------------------------

  private static String key(String account) {
    return account.toLowerCase(Locale.ROOT);
  }

  private Counters counters(String account) {
    return counters.computeIfAbsent(account, a -> new Counters(a, config.limitsFor(a).burstWindowSeconds()));
  }

  /** The recipients {@code account} already wrote to (loaded once from the database). */
  private Set<String> known(String account) {
    Counters c = counters(account);
    synchronized (c) {
      if (c.known == null) {
        c.known = repository.knownRecipients(account);
      }
      return c.known;
    }
  }

  private void remember(String account, List<String> recipients) {
    if (recipients.isEmpty()) {
      return;
    }
    try {
      repository.rememberRecipients(account, recipients, clock.instant());
    } catch (StoreException e) {
      log.warn("cannot remember the recipients of {}: {}", account, e.getMessage());
    }
  }

  /** The block of one account, if any. */
  public Optional<Block> block(String account) {
    return Optional.ofNullable(blocks.get(key(account)));
  }

  /** The sliding counters of one account; synchronised on itself. */
  private static final class Counters {
    final String account;
    final SlidingWindow msgMinute = new SlidingWindow(MINUTE);
    final SlidingWindow msgHour = new SlidingWindow(HOUR);
    final SlidingWindow msgDay = new SlidingWindow(DAY);
    final SlidingWindow rcptMinute = new SlidingWindow(MINUTE);
    final SlidingWindow rcptHour = new SlidingWindow(HOUR);
    final SlidingWindow rcptDay = new SlidingWindow(DAY);
    final SlidingWindow newHour = new SlidingWindow(HOUR);
    final SlidingWindow newDay = new SlidingWindow(DAY);
    final SlidingWindow burstMessages;
    final SlidingWindow burstRecipients;
    Set<String> known;
    /** The sums of every node, as the last {@link #shared} count read them (null: none yet), and when. */
    SenderRepository.Counts shared;
    long sharedAt;

    Counters(String account, int burstWindowSeconds) {
      this.account = account;
      this.burstMessages = new SlidingWindow(burstWindowSeconds * 1000L);
      this.burstRecipients = new SlidingWindow(burstWindowSeconds * 1000L);
    }

    /** This node's counts over the limits' windows. */
    Sums sums(long now) {
      return new Sums(new Tally(msgMinute.sum(now), rcptMinute.sum(now), 0),
          new Tally(msgHour.sum(now), rcptHour.sum(now), newHour.sum(now)),
          new Tally(msgDay.sum(now), rcptDay.sum(now), newDay.sum(now)));
    }

    /** The burst's messages: this node's, or every node's as last read (while younger than one bucket). */
    long burstMessages(long now) {
      long mine = burstMessages.sum(now);
      return recent(now) ? Math.max(mine, shared.messages()) : mine;
    }

    long burstRecipients(long now) {
      long mine = burstRecipients.sum(now);
      return recent(now) ? Math.max(mine, shared.recipients()) : mine;
    }

    private boolean recent(long now) {
      return shared != null && now - sharedAt >= 0 && now - sharedAt < burstMessages.bucketMillis();
    }

    void add(long now, int msgs, int rcpts, int fresh) {
      msgMinute.add(now, msgs);
      msgHour.add(now, msgs);
      msgDay.add(now, msgs);
      burstMessages.add(now, msgs);
      rcptMinute.add(now, rcpts);
      rcptHour.add(now, rcpts);
      rcptDay.add(now, rcpts);
      burstRecipients.add(now, rcpts);
      newHour.add(now, fresh);
      newDay.add(now, fresh);
    }
  }
}
