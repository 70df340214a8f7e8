package org.darwinmail.smtp;

import org.darwinmail.config.ServerConfig;
import org.darwinmail.delivery.Acceptance;
import org.darwinmail.guard.Guard;
import org.darwinmail.guard.Logins;
import org.darwinmail.net.Tls;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Account;
import org.darwinmail.store.Directory;
import org.darwinmail.urlauth.UrlAuth;

/**
 * What SMTP sessions use of the rest of the server; wired in {@link org.darwinmail.DarwinMail}. {@code urlAuth}
 * resolves BURL's URLs against the local store (RFC 4468 §5).
 */
public record SmtpContext(ServerConfig config, Directory directory, BlobStore blobs,
    Acceptance acceptance, Tls tls, Logins<Account> logins, Guard guard, UrlAuth urlAuth) {}
