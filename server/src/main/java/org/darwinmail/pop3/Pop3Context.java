package org.darwinmail.pop3;

import org.darwinmail.config.ServerConfig;
import org.darwinmail.guard.Logins;
import org.darwinmail.net.Tls;
import org.darwinmail.store.Account;
import org.darwinmail.store.Directory;
import org.darwinmail.store.MailStore;

/** What a POP3 session needs from the rest of the server. */
public record Pop3Context(ServerConfig config, Directory directory, MailStore mail, Tls tls, Logins<Account> logins,
    MaildropLocks locks) {}
