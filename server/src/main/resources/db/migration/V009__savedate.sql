-- SAVEDATE (RFC 8514 §3): when a message was saved into its mailbox (APPEND, COPY, MOVE, delivery), kept apart from
-- its internal date, which APPEND may set and COPY keeps. Rows stored before this step get their internal date, the
-- best estimate there is. Portable SQL: Derby and PostgreSQL run it as it is.
ALTER TABLE messages ADD COLUMN save_date TIMESTAMP;
UPDATE messages SET save_date = internal_date;
