package org.darwinmail.imap;

import org.darwinmail.config.ServerConfig;
import org.darwinmail.guard.Logins;
import org.darwinmail.net.Tls;
import org.darwinmail.store.Account;
import org.darwinmail.store.Directory;
import org.darwinmail.store.MailStore;

/** What every IMAP session shares: configuration, the mail core, TLS and the login guard. */
public record ImapContext(ServerConfig config, Directory directory, MailStore mail, Tls tls, Logins<Account> logins) {}
