package org.darwinmail.guard;

import java.net.InetAddress;
import java.util.Optional;
import org.darwinmail.store.Account;
import org.darwinmail.store.Directory;

/**
 * The one login attempt of the server (ARCHITECTURE.md, "The abuse guard and login throttling"): SMTP AUTH, IMAP
 * LOGIN/AUTHENTICATE, POP3 USER/PASS and AUTH all call {@link #attempt}, and so will the admin console; each protocol
 * only renders the {@link Answer} in its own words. Needs no protocol: an address, a password and the client's address.
 */
public final class Logins {
  private final Directory directory;
  private final LoginGuard guard;

  public Logins(Directory directory, LoginGuard guard) {
    this.directory = directory;
    this.guard = guard;
  }

  /** The answer to one attempt. */
  public sealed interface Answer permits Locked, Failed, Ok {}

  /** Refused without checking the password: too many failures from this address or for this account. */
  public record Locked() implements Answer {}

  /** Wrong address or password (an empty user name included); counted towards a lockout. */
  public record Failed() implements Answer {}

  public record Ok(Account account) implements Answer {}

  /**
   * Checks the guard (refused while locked; the throttling delay is slept on the caller's thread, a virtual thread in
   * every session), then the password, then tells the guard how it went. Blocks for the delay and for the password
   * hash (Argon2id, at most once per CPU at a time: {@code auth.Passwords}; not at all for a recent success:
   * {@code auth.CredentialCache}).
   */
  public Answer attempt(String address, String password, InetAddress remote) {
    LoginGuard.Verdict v = guard.check(address, remote);
    if (v.locked()) {
      return new Locked();
    }
    LoginGuard.pause(v);
    Optional<Account> a = address.isEmpty() ? Optional.empty()
        : directory.authenticate(address, password.toCharArray());
    if (a.isEmpty()) {
      guard.failed(address, remote);
      return new Failed();
    }
    guard.succeeded(address, remote);
    return new Ok(a.get());
  }

  /** The throttle itself (its state, for tests and the CLI). */
  public LoginGuard guard() {
    return guard;
  }
}
