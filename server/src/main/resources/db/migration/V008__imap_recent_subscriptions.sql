-- \Recent (RFC 3501 §2.3.2, IMAP4rev1): the highest UID of a mailbox that some session has already taken as recent.
-- A message above it is recent for the next session that selects the mailbox (or, while one has it selected, for the
-- first that notices it); MailStore.claimRecent moves the mark under the row's lock, so one message is \Recent in
-- exactly one session. Mail already stored when this runs is not recent: the mark starts at the last UID handed out.
ALTER TABLE mailboxes ADD COLUMN recent_uid BIGINT NOT NULL DEFAULT 0;
UPDATE mailboxes SET recent_uid = uid_next - 1;
-- Subscriptions outlive their mailbox (RFC 3501 §6.3.6: the server "MUST NOT unilaterally remove an existing mailbox
-- name from the subscription list even if a mailbox by that name no longer exists"): deleting a subscribed mailbox
-- keeps its name here, LIST (SUBSCRIBED) shows it \NonExistent (RFC 5258 §3.1) and LSUB \Noselect, until it is
-- unsubscribed or a mailbox of that name is created again (subscribed, as every new mailbox).
CREATE TABLE orphan_subscriptions (
  account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name VARCHAR(1000) NOT NULL,
  UNIQUE (account_id, name)
);
