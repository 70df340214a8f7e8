package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The one login attempt, called without any protocol (as the admin console will): address, password and client
 * address in, locked / failed / ok(account) out; an empty user name fails without a lookup and counts like any failure.
 */
class LoginsTest {
  static TestServer server;
  static final String D = "logins.test";

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> c.withGuard(c.guard().withLogins(1, 3, 60)));
    server.addUser("carol@" + D, "carol-pw");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static Logins<org.darwinmail.store.Account> logins() {
    return Logins.mail(server.services().directory(), server.services().logins());
  }

  @Test
  void answersOkFailedAndLockedWithoutAProtocol() throws Exception {
    InetAddress here = InetAddress.getByName("127.0.0.9");
    assertThat(logins().attempt("carol@" + D, "carol-pw", here))
        .isInstanceOfSatisfying(Logins.Ok.class, ok -> assertThat(((org.darwinmail.store.Account) ok.account())
            .address()).isEqualTo("carol@" + D));
    assertThat(logins().attempt("carol@" + D, "wrong", here)).isEqualTo(new Logins.Failed<>());
    assertThat(logins().attempt("", "carol-pw", here)).isEqualTo(new Logins.Failed<>());
    assertThat(logins().attempt("carol@" + D, "wrong", here)).isEqualTo(new Logins.Failed<>());
    assertThat(logins().attempt("carol@" + D, "wrong", here)).isEqualTo(new Logins.Failed<>());
    // Three failures for the account from this address: locked, even with the right password.
    assertThat(logins().attempt("carol@" + D, "carol-pw", here)).isEqualTo(new Logins.Locked<>());
    // Elsewhere the account is not locked.
    assertThat(logins().attempt("carol@" + D, "carol-pw", InetAddress.getByName("127.0.0.10")))
        .isInstanceOf(Logins.Ok.class);
  }
}
