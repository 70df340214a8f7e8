-- The abuse guard's minute, hour and day sending limits shared by the nodes of one PostgreSQL database (issue 20):
-- per account and window (span: its length in seconds, 60, 3600 or 86400), per time bucket (its start in epoch
-- milliseconds; a bucket is a sixtieth of the window), the messages, recipients and first-time recipients accepted.
-- Each node reads the sums and adds its message in one transaction that first locks the account's row of span 0
-- (bucket 0, no counts), so concurrent counts of one account, on any node, take turns and each sees the others'.
-- Buckets older than their window are deleted as the account sends; an unblock deletes the account's rows. A single
-- node (Derby) counts in memory and leaves this table empty. Portable SQL.
CREATE TABLE sender_rates (
  account VARCHAR(320) NOT NULL,
  span INT NOT NULL,
  bucket BIGINT NOT NULL,
  messages INT NOT NULL,
  recipients INT NOT NULL,
  fresh INT NOT NULL,
  PRIMARY KEY (account, span, bucket)
);
