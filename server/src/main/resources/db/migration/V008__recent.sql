-- \Recent (RFC 3501 §2.3.2, IMAP4rev1): the highest UID of a mailbox that some session has already taken as recent.
-- A message above it is recent for the next session that selects the mailbox (or, while one has it selected, for the
-- first that notices it); MailStore.claimRecent moves the mark under the row's lock, so one message is \Recent in
-- exactly one session. Mail already stored when this runs is not recent: the mark starts at the last UID handed out.
ALTER TABLE mailboxes ADD COLUMN recent_uid BIGINT NOT NULL DEFAULT 0;
UPDATE mailboxes SET recent_uid = uid_next - 1;
