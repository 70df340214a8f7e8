package org.darwinmail.config;

/** Range checks that name the key in their message. */
final class Checks {
  private Checks() {}

  static void range(String key, long value, long min, long max) {
    if (value < min || value > max) {
      throw new ConfigException(key + ": " + value + " is out of range [" + min + ", " + max + "]");
    }
  }
}
