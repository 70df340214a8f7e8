-- Accounts, domains, aliases, mailboxes and messages (portable SQL; Derby types).
CREATE TABLE domains (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name VARCHAR(253) NOT NULL UNIQUE,
  created_at TIMESTAMP NOT NULL
);
CREATE TABLE accounts (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain_id BIGINT NOT NULL REFERENCES domains(id),
  address VARCHAR(320) NOT NULL UNIQUE,
  password_hash VARCHAR(256) NOT NULL,
  -- 0 means no quota
  quota_bytes BIGINT NOT NULL DEFAULT 0,
  created_at TIMESTAMP NOT NULL
);
-- One row per (source, target); a source with several targets expands to all of them.
CREATE TABLE aliases (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source VARCHAR(320) NOT NULL,
  target VARCHAR(320) NOT NULL,
  UNIQUE (source, target)
);
CREATE TABLE mailboxes (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  -- UTF-8, hierarchy delimiter "/"
  name VARCHAR(1000) NOT NULL,
  -- RFC 6154 attribute without the backslash: Sent, Drafts, Trash, Junk, Archive; NULL for none
  special_use VARCHAR(16),
  subscribed SMALLINT NOT NULL DEFAULT 1,
  uid_validity BIGINT NOT NULL,
  uid_next BIGINT NOT NULL,
  highest_modseq BIGINT NOT NULL,
  UNIQUE (account_id, name)
);
CREATE TABLE messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid BIGINT NOT NULL,
  -- SHA-256 (hex) of the body in the blob store
  blob CHAR(64) NOT NULL,
  size BIGINT NOT NULL,
  internal_date TIMESTAMP NOT NULL,
  -- system flags as bits: see org.darwinmail.store.Flags
  flags INT NOT NULL,
  -- keywords separated by single spaces
  keywords VARCHAR(4000) NOT NULL DEFAULT '',
  modseq BIGINT NOT NULL,
  UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_blob ON messages(blob);
-- Expunged UIDs with the modseq of their expunge, for QRESYNC VANISHED (RFC 7162 §3.2.10).
CREATE TABLE expunged (
  mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid BIGINT NOT NULL,
  modseq BIGINT NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
);
-- Small key/value state of the store itself (for instance the last UIDVALIDITY handed out).
CREATE TABLE store_state (
  name VARCHAR(100) NOT NULL PRIMARY KEY,
  val BIGINT NOT NULL
);
INSERT INTO store_state VALUES ('last_uid_validity', 0);
