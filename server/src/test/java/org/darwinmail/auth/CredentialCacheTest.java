package org.darwinmail.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CredentialCacheTest {
  @Test
  void remembersOnlyTheRightPasswordForTheSameStoredHash() {
    CredentialCache c = new CredentialCache();
    assertThat(c.matches("a@x.test", "$argon2id$h1", "pw".toCharArray())).isFalse();
    c.remember("a@x.test", "$argon2id$h1", "pw".toCharArray());
    assertThat(c.matches("a@x.test", "$argon2id$h1", "pw".toCharArray())).isTrue();
    assertThat(c.matches("a@x.test", "$argon2id$h1", "pW".toCharArray())).isFalse();
    assertThat(c.matches("b@x.test", "$argon2id$h1", "pw".toCharArray())).isFalse();
    // A new password (a new stored hash) forgets the old one at once.
    assertThat(c.matches("a@x.test", "$argon2id$h2", "pw".toCharArray())).isFalse();
    assertThat(c.matches("a@x.test", "$argon2id$h1", "pw".toCharArray())).isFalse();
  }
}
