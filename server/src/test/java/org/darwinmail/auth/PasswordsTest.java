package org.darwinmail.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PasswordsTest {
  @Test
  void theServersCostAndAnotherBothVerifyAndOnlyWithTheirPassword() {
    String server = Passwords.hash("right".toCharArray());
    String small = Passwords.hash("right".toCharArray(), 64, 1);
    assertThat(server).startsWith("$argon2id$v=19$m=19456,t=2,p=1$");
    assertThat(small).startsWith("$argon2id$v=19$m=64,t=1,p=1$");
    for (String h : new String[] {server, small}) {
      assertThat(Passwords.verify("right".toCharArray(), h)).isTrue();
      assertThat(Passwords.verify("wrong".toCharArray(), h)).isFalse();
    }
  }

  @Test
  void aCostVerifyWouldRefuseIsNotMade() {
    assertThatThrownBy(() -> Passwords.hash("x".toCharArray(), 4, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Passwords.hash("x".toCharArray(), 64, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Passwords.hash("x".toCharArray(), 64, 21)).isInstanceOf(IllegalArgumentException.class);
  }
}
