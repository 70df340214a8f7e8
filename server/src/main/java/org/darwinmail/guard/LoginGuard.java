package org.darwinmail.guard;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.darwinmail.config.GuardConfig;
import org.darwinmail.store.ClusterEvents;

/**
 * Throttles failed logins on every protocol (SMTP AUTH, IMAP, POP3), per account and per client address
 * (ARCHITECTURE.md, "The abuse guard and login throttling"). Each failure makes the next attempt from the same address,
 * or for the same account, wait longer (doubling from {@link #baseDelay}); past {@link #lockAfter} failures the key is
 * locked out for {@link #lockout}. An account is locked only for the addresses that failed against it, plus globally
 * after {@link #accountLockAfter} failures from many addresses, so an attacker elsewhere cannot lock a user out of
 * their usual address... unless they try very hard, and then only for the lockout time.
 *
 * <p>Usage by a protocol session: {@code check} before verifying a password (refuse while locked, sleep the
 * returned delay on the session's virtual thread), then {@code failed} or {@code succeeded}.
 */
public final class LoginGuard {
  static final Duration MAX_DELAY = Duration.ofSeconds(8);
  static final Duration FORGET_AFTER = Duration.ofHours(1);

  private final Duration baseDelay;
  private final int lockAfter;
  private final int accountLockAfter;
  private final Duration lockout;
  private final Clock clock;
  private final Map<String, Failures> byKey = new ConcurrentHashMap<>();
  /** Where failures, successes and unlocks are told to the other nodes ({@link #share}); none by default. */
  private volatile ClusterEvents cluster = ClusterEvents.LOCAL;

  public LoginGuard() {
    this(Clock.systemUTC());
  }

  public LoginGuard(Clock clock) {
    this(GuardConfig.defaults(), clock);
  }

  /** With the {@code guard.login_*} settings: first delay, failures before a lockout, lockout length. */
  public LoginGuard(GuardConfig config, Clock clock) {
    this.baseDelay = Duration.ofMillis(config.loginDelayMillis());
    this.lockAfter = config.loginLockAfter();
    this.accountLockAfter = config.loginLockAfter() * 5;
    this.lockout = Duration.ofSeconds(config.loginLockoutSeconds());
    this.clock = clock;
  }

  /** The verdict before a login attempt. */
  public record Verdict(boolean locked, Duration delay) {
    public static final Verdict GO = new Verdict(false, Duration.ZERO);
  }

  /** Whether to refuse the attempt (locked) and how long to wait before answering it. */
  public Verdict check(String account, InetAddress address) {
    Instant now = clock.instant();
    Failures ip = get(ipKey(address.getHostAddress()), now);
    Failures pair = get(pairKey(account, address.getHostAddress()), now);
    Failures acct = get(accountKey(account), now);
    if (locked(ip, now, lockAfter * 3) || locked(pair, now, lockAfter) || locked(acct, now, accountLockAfter)) {
      return new Verdict(true, Duration.ZERO);
    }
    int n = Math.max(ip == null ? 0 : ip.count / 3, pair == null ? 0 : pair.count);
    if (n == 0) {
      return Verdict.GO;
    }
    long ms = Math.min(MAX_DELAY.toMillis(), baseDelay.toMillis() << Math.min(n - 1, 16));
    return new Verdict(false, Duration.ofMillis(ms));
  }

  public void failed(String account, InetAddress address) {
    failed(account, address.getHostAddress());
    cluster.publish(ClusterEvents.Topic.LOGIN, "f\n" + account + "\n" + address.getHostAddress());
  }

  private void failed(String account, String address) {
    Instant now = clock.instant();
    for (String k : new String[] {ipKey(address), pairKey(account, address), accountKey(account)}) {
      byKey.compute(k, (key, f) -> {
        Failures g = f == null || expired(f, now) ? new Failures() : f;
        g.count++;
        g.last = now;
        return g;
      });
    }
  }

  public void succeeded(String account, InetAddress address) {
    if (byKey.remove(pairKey(account, address.getHostAddress())) != null) {
      cluster.publish(ClusterEvents.Topic.LOGIN, "s\n" + account + "\n" + address.getHostAddress());
    }
  }

  /**
   * Shares failures, successes and unlocks with the other nodes (ARCHITECTURE.md, "The cluster event channel"): each
   * node counts every node's failures, so a guessing attack spread over several nodes is locked out as on one, and
   * a lockout lifted on one node is lifted on all. The counts stay in memory (a node started later knows only the
   * failures since); an event missed while the channel reconnects is lost, which only delays a lockout.
   */
  public void share(ClusterEvents cluster) {
    this.cluster = cluster;
    cluster.subscribe(ClusterEvents.Topic.LOGIN, this::heard);
  }

  /** An event of another node's {@link #share}: "f" or "s", the account and the address; or "u" and a key. */
  private void heard(String event) {
    if (event == null || event.length() < 3 || event.charAt(1) != '\n') {
      return; // "anything may have changed": failures missed meanwhile are not to be had again
    }
    String rest = event.substring(2);
    if (event.charAt(0) == 'u') {
      byKey.remove(rest);
      return;
    }
    int nl = rest.lastIndexOf('\n');
    if (nl < 0) {
      return;
    }
    String account = rest.substring(0, nl);
    String address = rest.substring(nl + 1);
    switch (event.charAt(0)) {
      case 'f' -> failed(account, address);
      case 's' -> byKey.remove(pairKey(account, address));
      default -> { } // an event of a newer release
    }
  }

  /**
   * A key locked out now: {@code kind} is "address" (a client address, every account), "account" (an account
   * from every address) or "account from address"; {@code key} is what {@link #unlock} takes.
   */
  public record Lock(String key, String kind, String account, String address, int failures, Instant lastFailure,
      Instant until) {}

  /** Every key locked out now, the most recent failure first (the admin console's list). */
  public java.util.List<Lock> locks() {
    Instant now = clock.instant();
    java.util.List<Lock> out = new java.util.ArrayList<>();
    for (Map.Entry<String, Failures> e : byKey.entrySet()) {
      String k = e.getKey();
      Failures f = e.getValue();
      int limit = k.startsWith("ip:") ? lockAfter * 3 : k.startsWith("acct:") ? accountLockAfter : lockAfter;
      if (!locked(f, now, limit)) {
        continue;
      }
      String rest = k.substring(k.indexOf(':') + 1);
      int bar = rest.lastIndexOf('|');
      if (k.startsWith("ip:")) {
        out.add(new Lock(k, "address", "", rest, f.count, f.last, f.last.plus(lockout)));
      } else if (k.startsWith("acct:")) {
        out.add(new Lock(k, "account", rest, "", f.count, f.last, f.last.plus(lockout)));
      } else if (bar > 0) {
        out.add(new Lock(k, "account from address", rest.substring(0, bar), rest.substring(bar + 1), f.count, f.last,
            f.last.plus(lockout)));
      }
    }
    out.sort((a, b) -> b.lastFailure().compareTo(a.lastFailure()));
    return out;
  }

  /** Lifts a lockout (a key from {@link #locks}) and forgets its failures; returns whether it was there. */
  public boolean unlock(String key) {
    boolean was = byKey.remove(key) != null;
    cluster.publish(ClusterEvents.Topic.LOGIN, "u\n" + key);
    return was;
  }

  /** Sleeps the verdict's delay (on a virtual thread: costs no platform thread). */
  public static void pause(Verdict v) {
    if (!v.delay().isZero()) {
      try {
        Thread.sleep(v.delay());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private Failures get(String key, Instant now) {
    Failures f = byKey.get(key);
    if (f != null && expired(f, now)) {
      byKey.remove(key, f);
      return null;
    }
    return f;
  }

  private boolean locked(Failures f, Instant now, int limit) {
    return f != null && f.count >= limit && now.isBefore(f.last.plus(lockout));
  }

  private boolean expired(Failures f, Instant now) {
    return now.isAfter(f.last.plus(f.count >= lockAfter ? lockout : FORGET_AFTER));
  }

  private static String ipKey(String address) {
    return "ip:" + address;
  }

  private static String accountKey(String account) {
    return "acct:" + account.toLowerCase(Locale.ROOT);
  }

  private static String pairKey(String account, String address) {
    return "pair:" + account.toLowerCase(Locale.ROOT) + "|" + address;
  }

  private static final class Failures {
    int count;
    Instant last;
  }
}
