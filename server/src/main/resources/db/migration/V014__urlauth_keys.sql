-- IMAP URLAUTH (RFC 4467 §3, issue 19; store/UrlAuthKeys.java): the mailbox access key of each mailbox that has
-- had a URL generated for it, 256 random bits in hex. A URLAUTH token is an HMAC of its URL under this key, so
-- RESETKEY deleting the row (the next GENURLAUTH makes a new one) invalidates every URL made before; a mailbox's
-- deletion deletes its key (a new mailbox of the same name has a new key). Portable SQL: Derby and PostgreSQL.
CREATE TABLE urlauth_keys (
  mailbox_id BIGINT NOT NULL PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
  access_key CHAR(64) NOT NULL
);
