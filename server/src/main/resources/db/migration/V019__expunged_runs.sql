-- Expunged UIDs as runs (issue 22; store/SqlMessageRepository.java expunge and expungedSince): a row now stands for
-- the consecutive UIDs uid..last_uid expunged together under one modseq, not for one UID. A POP3 QUIT that deletes
-- the 1,000 messages it downloaded wrote 1,000 rows (a fifth of its CPU) and the table grew by one row per message
-- ever removed; now one. Only numerically consecutive UIDs make a run, so VANISHED (EARLIER) (RFC 7162 §3.2.10)
-- still lists exactly the UIDs removed since the client's modseq. A row of an older release is a run of one.
-- Portable SQL: the same file on both engines.
ALTER TABLE expunged ADD COLUMN last_uid BIGINT NOT NULL DEFAULT 0;
UPDATE expunged SET last_uid = uid;
ALTER TABLE expunged ALTER COLUMN last_uid DROP DEFAULT;
