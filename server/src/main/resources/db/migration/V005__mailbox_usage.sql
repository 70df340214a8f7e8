-- Quota checks read an account's usage at every RCPT and APPEND: keep each mailbox's total message size on its
-- row (updated with uid_next and highest_modseq in the same statement) instead of summing every message.
ALTER TABLE mailboxes ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE mailboxes SET used_bytes = (SELECT COALESCE(SUM(m.size), 0) FROM messages m WHERE m.mailbox_id = mailboxes.id);
