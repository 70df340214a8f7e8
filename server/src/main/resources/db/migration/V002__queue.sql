-- The outbound queue (issue 5): one row per queued message, one per recipient still to deliver.
-- A recipient row is deleted once delivered or bounced; a message row once it has no recipients left.
CREATE TABLE queue_messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- envelope sender; '' for the null sender (bounces): never bounced
  sender VARCHAR(320) NOT NULL,
  -- SHA-256 (hex) of the body in the blob store
  blob CHAR(64) NOT NULL,
  size BIGINT NOT NULL,
  smtputf8 SMALLINT NOT NULL,
  -- the authenticated account that submitted it, NULL when relayed by an alias or generated (DSN)
  account VARCHAR(320),
  created_at TIMESTAMP NOT NULL,
  -- 1 once a delay warning (RFC 3464 Action: delayed) was sent
  warned SMALLINT NOT NULL DEFAULT 0
);
CREATE INDEX queue_messages_blob ON queue_messages(blob);
CREATE TABLE queue_recipients (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- no foreign key: a cascade would make Derby lock this whole table when a message row goes; Queue deletes
  -- the recipients itself, in the same transaction
  message_id BIGINT NOT NULL,
  recipient VARCHAR(320) NOT NULL,
  -- lower-case A-label domain of the recipient: the unit of routing and concurrency
  domain VARCHAR(253) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  next_attempt TIMESTAMP NOT NULL,
  last_error VARCHAR(1000)
);
CREATE INDEX queue_recipients_due ON queue_recipients(next_attempt);
CREATE INDEX queue_recipients_message ON queue_recipients(message_id);
