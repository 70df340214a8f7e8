package org.darwinmail.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Successful password checks, remembered for a while so that a client reconnecting every minute (IMAP, POP3,
 * submission) does not pay an Argon2id verification (about 19 MiB and tens of milliseconds of CPU) each time —
 * what Dovecot's auth_cache does. Only an HMAC of the password under a key made at start-up is kept, in memory;
 * an entry is valid only while the account's stored hash is unchanged, so a password change or reset takes effect
 * at once. Failures are never cached (the {@code LoginGuard} throttles them).
 */
public final class CredentialCache {
  static final Duration TTL = Duration.ofMinutes(15);
  private static final int MAX_ENTRIES = 100_000;

  private final SecretKeySpec key;
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();

  private record Entry(String storedHash, byte[] mac, long expiresAt) {}

  public CredentialCache() {
    byte[] k = new byte[32];
    new SecureRandom().nextBytes(k);
    key = new SecretKeySpec(k, "HmacSHA256");
  }

  /** True when {@code password} was verified against exactly {@code storedHash} less than {@link #TTL} ago. */
  public boolean matches(String address, String storedHash, char[] password) {
    Entry e = entries.get(address);
    if (e == null) {
      return false;
    }
    if (System.nanoTime() - e.expiresAt() > 0 || !e.storedHash().equals(storedHash)) {
      entries.remove(address, e);
      return false;
    }
    return MessageDigest.isEqual(e.mac(), mac(address, password));
  }

  public void remember(String address, String storedHash, char[] password) {
    if (entries.size() >= MAX_ENTRIES) {
      entries.clear();
    }
    entries.put(address, new Entry(storedHash, mac(address, password), System.nanoTime() + TTL.toNanos()));
  }

  private byte[] mac(String address, char[] password) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(key);
      m.update(address.getBytes(StandardCharsets.UTF_8));
      m.update((byte) 0);
      m.update(StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(password)));
      return m.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
