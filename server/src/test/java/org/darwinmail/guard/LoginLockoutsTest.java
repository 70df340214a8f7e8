package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Clock;
import org.darwinmail.config.GuardConfig;
import org.junit.jupiter.api.Test;

/** The console's view of login lockouts: what is locked now, and lifting one. */
class LoginLockoutsTest {
  @Test
  void lockedKeysAreListedAndAnUnlockLetsTheNextAttemptThrough() throws Exception {
    LoginGuard g = new LoginGuard(GuardConfig.defaults(), Clock.systemUTC());
    InetAddress a = InetAddress.getByName("192.0.2.7");
    assertThat(g.locks()).isEmpty();
    for (int i = 0; i < GuardConfig.defaults().loginLockAfter(); i++) {
      g.failed("bob@example.test", a);
    }
    assertThat(g.check("bob@example.test", a).locked()).isTrue();
    var locks = g.locks();
    assertThat(locks).hasSize(1);
    LoginGuard.Lock l = locks.getFirst();
    assertThat(l.kind()).isEqualTo("account from address");
    assertThat(l.account()).isEqualTo("bob@example.test");
    assertThat(l.address()).isEqualTo("192.0.2.7");
    assertThat(l.until()).isAfter(l.lastFailure());
    assertThat(g.unlock(l.key())).isTrue();
    assertThat(g.check("bob@example.test", a).locked()).isFalse();
    assertThat(g.locks()).isEmpty();
    assertThat(g.unlock(l.key())).isFalse();
  }
}
