-- Blobs that may have lost their last reference (issue 23). The triggers add a row in the transaction that deletes
-- a message or a queued message, by any path (EXPUNGE, a mailbox or an account removed by cascade, a queue entry
-- delivered or deleted); BlobCollector deletes the blob once nothing refers to it, then the rows up to the id it
-- read (a row added meanwhile stays for the next pass).
CREATE TABLE blob_candidates (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  hash CHAR(64) NOT NULL
);
CREATE INDEX blob_candidates_hash ON blob_candidates(hash);
CREATE TRIGGER messages_blob_candidates AFTER DELETE ON messages REFERENCING OLD_TABLE AS gone
  FOR EACH STATEMENT INSERT INTO blob_candidates (hash) SELECT DISTINCT blob FROM gone;
CREATE TRIGGER queue_blob_candidates AFTER DELETE ON queue_messages REFERENCING OLD_TABLE AS gone
  FOR EACH STATEMENT INSERT INTO blob_candidates (hash) SELECT DISTINCT blob FROM gone;
