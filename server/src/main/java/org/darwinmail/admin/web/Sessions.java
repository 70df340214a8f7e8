package org.darwinmail.admin.web;

import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Console sessions, kept in memory on the server: the browser holds only a random id (32 bytes from SecureRandom)
 * in a {@code __Host-} cookie marked Secure, HttpOnly and SameSite=Strict. A session ends after {@code idle}
 * without a request, after {@code max} whatever happens, or at logout. Each has its own CSRF token, which the page
 * sends back in the {@code X-CSRF-Token} header of every state-changing request.
 */
final class Sessions {
  static final String COOKIE = "__Host-dm_session";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Map<String, Session> byId = new ConcurrentHashMap<>();
  private final Duration idle;
  private final Duration max;
  private final Clock clock;

  Sessions(Duration idle, Duration max, Clock clock) {
    this.idle = idle;
    this.max = max;
    this.clock = clock;
  }

  /** One signed-in browser: who (an admin's name, or "setup" before the admin account exists), and its token. */
  static final class Session {
    final String id;
    final String csrf;
    final boolean setup;
    final Instant created;
    volatile String user;
    volatile Instant seen;

    Session(String id, String csrf, String user, boolean setup, Instant now) {
      this.id = id;
      this.csrf = csrf;
      this.user = user;
      this.setup = setup;
      this.created = now;
      this.seen = now;
    }

    boolean csrfMatches(String token) {
      return token != null && MessageDigest.isEqual(csrf.getBytes(java.nio.charset.StandardCharsets.US_ASCII),
          token.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }
  }

  static String randomToken() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  Session create(String user, boolean setup) {
    expire();
    Session s = new Session(randomToken(), randomToken(), user, setup, clock.instant());
    byId.put(s.id, s);
    return s;
  }

  /** The live session named by the request's cookie (its idle time restarts), if any. */
  Optional<Session> find(String cookieHeader) {
    if (cookieHeader == null || cookieHeader.length() > 4096) {
      return Optional.empty();
    }
    for (Cookie c : ServerCookieDecoder.STRICT.decode(cookieHeader)) {
      if (c.name().equals(COOKIE)) {
        Session s = byId.get(c.value());
        if (s == null) {
          return Optional.empty();
        }
        Instant now = clock.instant();
        if (now.isAfter(s.seen.plus(idle)) || now.isAfter(s.created.plus(max))) {
          byId.remove(s.id);
          return Optional.empty();
        }
        s.seen = now;
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }

  void remove(Session s) {
    byId.remove(s.id);
  }

  /** Ends every session made with the setup code (the code is gone once setup is done). */
  void removeSetupSessions() {
    byId.values().removeIf(s -> s.setup);
  }

  static String cookie(Session s) {
    return COOKIE + "=" + s.id + "; Path=/; Secure; HttpOnly; SameSite=Strict";
  }

  static String clearCookie() {
    return COOKIE + "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict";
  }

  private void expire() {
    Instant now = clock.instant();
    byId.values().removeIf(s -> now.isAfter(s.seen.plus(idle)) || now.isAfter(s.created.plus(max)));
  }
}
