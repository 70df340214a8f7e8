package org.darwinmail.admin.web;

import java.net.InetAddress;
import java.util.function.BooleanSupplier;
import org.darwinmail.guard.LoginGuard;

/**
 * The console's logins and setup-code attempts, throttled by the same {@link LoginGuard} as mail logins (delays
 * doubling per failure per address and per account, then a lockout). One method, so that the throttling path can
 * be switched in one place.
 */
final class AdminLogins {
  enum Outcome { OK, WRONG, LOCKED }

  private final LoginGuard guard;

  AdminLogins(LoginGuard guard) {
    this.guard = guard;
  }

  /** Checks the guard (sleeping its delay on this virtual thread), runs {@code verify}, records the result. */
  Outcome attempt(String account, InetAddress from, BooleanSupplier verify) {
    LoginGuard.Verdict v = guard.check(account, from);
    if (v.locked()) {
      return Outcome.LOCKED;
    }
    LoginGuard.pause(v);
    if (verify.getAsBoolean()) {
      guard.succeeded(account, from);
      return Outcome.OK;
    }
    guard.failed(account, from);
    return Outcome.WRONG;
  }
}
