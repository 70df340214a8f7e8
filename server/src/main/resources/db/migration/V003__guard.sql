-- The abuse guard (issue 6). Portable SQL; Derby types.
-- Accounts blocked from sending after a burst: one row while the block holds, with the figures that triggered it.
CREATE TABLE sender_blocks (
  account VARCHAR(320) NOT NULL PRIMARY KEY,
  blocked_at TIMESTAMP NOT NULL,
  reason VARCHAR(1000) NOT NULL,
  messages INT NOT NULL,
  recipients INT NOT NULL,
  window_seconds INT NOT NULL
);
-- Every recipient an account has already written to: first-time recipients are counted separately.
CREATE TABLE sender_recipients (
  account VARCHAR(320) NOT NULL,
  recipient VARCHAR(320) NOT NULL,
  first_sent TIMESTAMP NOT NULL,
  PRIMARY KEY (account, recipient)
);
