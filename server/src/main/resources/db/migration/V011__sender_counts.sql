-- The abuse guard's burst counts shared by the nodes of one PostgreSQL database (issue 20): per account, per time
-- bucket (its start in epoch milliseconds; a bucket is a sixtieth of the burst window), the messages and recipients
-- accepted or attempted. Each node adds its own in the transaction that counts a message and reads the sum of the
-- window's buckets, so a burst spread over several nodes is seen as one. Buckets older than the window are deleted
-- as the account sends; an unblock deletes the account's. A single node (Derby) counts in memory and leaves this
-- table empty. Portable SQL.
CREATE TABLE sender_counts (
  account VARCHAR(320) NOT NULL,
  bucket BIGINT NOT NULL,
  messages INT NOT NULL,
  recipients INT NOT NULL,
  PRIMARY KEY (account, bucket)
);
