package org.darwinmail.imap;

import org.darwinmail.config.ServerConfig;
import org.darwinmail.guard.Logins;
import org.darwinmail.net.Tls;
import org.darwinmail.store.Account;
import org.darwinmail.store.Directory;
import org.darwinmail.store.MailStore;
import org.darwinmail.urlauth.UrlAuth;

/** What every IMAP session shares: configuration, the mail core, TLS, the login guard and URLAUTH. */
public record ImapContext(ServerConfig config, Directory directory, MailStore mail, Tls tls, Logins<Account> logins,
    UrlAuth urlAuth) {
  /** The account's limit in bytes in force now: the administrator's or the user's own, the smaller (0: none). */
  long quotaLimit(Account account) {
    return directory.account(account.id()).map(Account::limitBytes).orElse(0L);
  }

  /** The administrator's quota in bytes now (0: none): the ceiling of SETQUOTA (RFC 9208 §4.1.3). */
  long adminQuota(Account account) {
    return directory.account(account.id()).map(Account::quotaBytes).orElse(0L);
  }
}
