package org.darwinmail.guard;

import java.net.InetAddress;
import java.util.Optional;
import org.darwinmail.store.Account;
import org.darwinmail.store.Directory;

/**
 * The one login attempt of the server (ARCHITECTURE.md, "The abuse guard and login throttling"): SMTP AUTH, IMAP
 * LOGIN/AUTHENTICATE, POP3 USER/PASS and AUTH call {@link #attempt} on the mail directory's logins
 * ({@link #mail}); the admin console on its admin accounts' and on its setup code's; each caller only renders the
 * {@link Answer} in its own words. Needs no protocol: a name, a password and the client's address.
 *
 * @param <T> who logs in: a mail {@link Account}, an admin account, ...
 */
public final class Logins<T> {
  /** Where names and passwords are checked: the mail directory, the admin accounts, the setup code. */
  @FunctionalInterface
  public interface Source<T> {
    /** Who {@code name} is when {@code password} is theirs; empty for a wrong name or password alike. */
    Optional<T> authenticate(String name, String password);
  }

  private final LoginGuard guard;
  private final String scope;
  private final Source<T> source;

  /**
   * @param scope put before the name in the guard's keys, so that the failures of one source do not lock another's
   *     names ("" for mail addresses, {@code admin:} for admin accounts)
   */
  public Logins(LoginGuard guard, String scope, Source<T> source) {
    this.guard = guard;
    this.scope = scope;
    this.source = source;
  }

  /** The mail accounts' logins: an empty user name is a failure without a lookup. */
  public static Logins<Account> mail(Directory directory, LoginGuard guard) {
    return new Logins<>(guard, "", (address, password) -> address.isEmpty() ? Optional.empty()
        : directory.authenticate(address, password.toCharArray()));
  }

  /** The answer to one attempt. */
  public sealed interface Answer<T> permits Locked, Failed, Ok {}

  /** Refused without checking the password: too many failures from this address or for this name. */
  public record Locked<T>() implements Answer<T> {}

  /** Wrong name or password (an empty user name included); counted towards a lockout. */
  public record Failed<T>() implements Answer<T> {}

  public record Ok<T>(T account) implements Answer<T> {}

  /**
   * Checks the guard (refused while locked; the throttling delay is slept on the caller's thread, a virtual thread in
   * every session), then the password, then tells the guard how it went. Blocks for the delay and for the password
   * hash (Argon2id, at most once per CPU at a time: {@code auth.Passwords}; not at all for a recent success:
   * {@code auth.CredentialCache}).
   */
  public Answer<T> attempt(String name, String password, InetAddress remote) {
    String key = scope + name;
    LoginGuard.Verdict v = guard.check(key, remote);
    if (v.locked()) {
      return new Locked<>();
    }
    LoginGuard.pause(v);
    Optional<T> a = source.authenticate(name, password);
    if (a.isEmpty()) {
      guard.failed(key, remote);
      return new Failed<>();
    }
    guard.succeeded(key, remote);
    return new Ok<>(a.get());
  }

  /** The throttle itself (its state, for tests and the CLI). */
  public LoginGuard guard() {
    return guard;
  }
}
