-- IMAP: a session catching up with its selected mailbox reads only what changed since the modseq it last saw
-- (messages with a greater modseq, UIDs expunged since), instead of the whole mailbox.
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);
