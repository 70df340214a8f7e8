package org.darwinmail.auth;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Argon2id password hashes in the PHC string format: {@code $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH}
 * (RFC 9106; OWASP's minimum parameters, about 30 ms on the appliance's vCPU).
 */
public final class Passwords {
  /**
   * At most one derivation per CPU at a time: each takes {@code m} KiB of heap, and more at once only adds memory
   * (10,000 clients logging in together would otherwise grow the heap by gigabytes).
   */
  private static final java.util.concurrent.Semaphore SLOTS =
      new java.util.concurrent.Semaphore(Math.max(2, Runtime.getRuntime().availableProcessors()), true);

  private static final int MEMORY_KIB = 19_456;
  private static final int ITERATIONS = 2;
  private static final int PARALLELISM = 1;
  private static final int HASH_LENGTH = 32;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder B64 = Base64.getEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getDecoder();
  /** Verified against when the account does not exist, so that timing does not reveal which accounts exist. */
  private static final String DUMMY = hash("not a password".toCharArray());

  private Passwords() {}

  public static String hash(char[] password) {
    return hash(password, MEMORY_KIB, ITERATIONS);
  }

  /**
   * A hash at another cost, within what {@link #verify} accepts (m from 8 KiB to 1 GiB, t from 1 to 20): what a hash
   * made before a change of cost looks like. The tests' accounts use a small one (testing.TestServer.addUser).
   */
  public static String hash(char[] password, int memoryKib, int iterations) {
    if (!costAccepted(memoryKib, iterations)) {
      throw new IllegalArgumentException("Argon2id cost out of range: m=" + memoryKib + ", t=" + iterations);
    }
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    byte[] h = derive(password, salt, memoryKib, iterations, PARALLELISM, HASH_LENGTH);
    return "$argon2id$v=19$m=" + memoryKib + ",t=" + iterations + ",p=" + PARALLELISM + "$" + B64.encodeToString(salt)
        + "$" + B64.encodeToString(h);
  }

  /** The memory (KiB) and passes a stored hash may name: 8 KiB to 1 GiB, 1 to 20 (bounds the work of a login). */
  private static boolean costAccepted(int memoryKib, int iterations) {
    return memoryKib >= 8 && memoryKib <= 1 << 20 && iterations >= 1 && iterations <= 20;
  }

  /** True when {@code password} matches {@code encoded}; a malformed hash never matches. */
  public static boolean verify(char[] password, String encoded) {
    if (encoded == null) {
      verify(password, DUMMY);
      return false;
    }
    String[] parts = encoded.split("\\$");
    // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
    if (parts.length != 6 || !parts[1].equals("argon2id") || !parts[2].equals("v=19")) {
      return false;
    }
    try {
      int m = 0;
      int t = 0;
      int p = 0;
      for (String kv : parts[3].split(",")) {
        int v = Integer.parseInt(kv.substring(2));
        switch (kv.charAt(0)) {
          case 'm' -> m = v;
          case 't' -> t = v;
          case 'p' -> p = v;
          default -> {
            return false;
          }
        }
      }
      if (!costAccepted(m, t) || p < 1 || p > 16) {
        return false;
      }
      byte[] salt = B64D.decode(parts[4]);
      byte[] expected = B64D.decode(parts[5]);
      byte[] actual = derive(password, salt, m, t, p, expected.length);
      return MessageDigest.isEqual(expected, actual);
    } catch (IllegalArgumentException | StringIndexOutOfBoundsException e) {
      return false;
    }
  }

  private static byte[] derive(char[] password, byte[] salt, int m, int t, int p, int len) {
    SLOTS.acquireUninterruptibly();
    try {
      return deriveNow(password, salt, m, t, p, len);
    } finally {
      SLOTS.release();
    }
  }

  private static byte[] deriveNow(char[] password, byte[] salt, int m, int t, int p, int len) {
    Argon2Parameters params = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
        .withVersion(Argon2Parameters.ARGON2_VERSION_13)
        .withMemoryAsKB(m).withIterations(t).withParallelism(p).withSalt(salt).build();
    Argon2BytesGenerator gen = new Argon2BytesGenerator();
    gen.init(params);
    ByteBuffer bb = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
    byte[] pw = new byte[bb.remaining()];
    bb.get(pw);
    byte[] out = new byte[len];
    gen.generateBytes(pw, out);
    Arrays.fill(pw, (byte) 0);
    return out;
  }
}
