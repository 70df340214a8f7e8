package org.darwinmail.admin.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Locale;

/**
 * The one-time setup code: 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L), about 50 bits,
 * shown as {@code XXXXX-XXXXX}. Only its SHA-256 is kept in memory; a new one is made at every start until setup
 * is done. Guessing is throttled by the login guard and a fixed delay per wrong code ({@link Api}).
 */
final class SetupCode {
  static final String ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
  static final int LENGTH = 10;
  private static final SecureRandom RANDOM = new SecureRandom();
  private final byte[] hash;

  private SetupCode(byte[] hash) {
    this.hash = hash;
  }

  /** A new code: the text to show once, and the object that keeps only its hash. */
  record Fresh(String display, SetupCode code) {}

  static Fresh generate() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < LENGTH; i++) {
      sb.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    String raw = sb.toString();
    return new Fresh(raw.substring(0, 5) + "-" + raw.substring(5), new SetupCode(sha256(raw)));
  }

  /** Whether {@code typed} is the code, ignoring case, spaces and dashes. */
  boolean matches(String typed) {
    if (typed == null || typed.length() > 64) {
      return false;
    }
    String t = typed.toUpperCase(Locale.ROOT).replaceAll("[\\s-]", "");
    return MessageDigest.isEqual(hash, sha256(t));
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
