package org.darwinmail.imap;

import org.darwinmail.config.ServerConfig;
import org.darwinmail.guard.Logins;
import org.darwinmail.net.Tls;
import org.darwinmail.store.Account;
import org.darwinmail.store.Directory;
import org.darwinmail.store.MailStore;

/** What every IMAP session shares: configuration, the mail core, TLS and the login guard. */
public record ImapContext(ServerConfig config, Directory directory, MailStore mail, Tls tls, Logins<Account> logins) {
  /** The account's quota in bytes as the administrator set it now (0: none). */
  long quotaLimit(Account account) {
    return directory.account(account.id()).map(Account::quotaBytes).orElse(0L);
  }
}
