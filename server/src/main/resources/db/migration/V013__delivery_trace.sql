-- The delivery trace (issue 17; store/SqlTraceRepository.java): what happened to each message, kept across restarts
-- and shared by the nodes of one PostgreSQL database. One row per event and recipient: received (the client, the
-- size, the Message-ID), queued, stored in a local mailbox, each delivery attempt's remote host and answer (delivered,
-- deferred, bounced) and the administrators' actions. Bounded by delivery.trace_retention_days and
-- delivery.trace_max_rows (TraceLog's pruning). Portable SQL: the same on Derby and PostgreSQL.
CREATE TABLE trace_events (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_at TIMESTAMP NOT NULL,
  -- received, queued, stored, delivered, deferred, bounced, lease lost, held, released, retried, deleted
  kind VARCHAR(20) NOT NULL,
  -- the queue entry's id; NULL for an event of a message not queued (received for, and stored in, local mailboxes)
  queue_id BIGINT,
  -- the Message-ID as written, and in lower case without its angle brackets: the search key ('' when none)
  message_id VARCHAR(300) NOT NULL,
  message_key VARCHAR(300) NOT NULL,
  sender VARCHAR(320) NOT NULL,
  recipient VARCHAR(320) NOT NULL,
  -- the recipient in lower case: the search key
  recipient_key VARCHAR(320) NOT NULL,
  -- the address of the SMTP client it came from ('' for mail the server wrote itself)
  client_address VARCHAR(64) NOT NULL,
  size BIGINT NOT NULL,
  -- the remote MTA that answered ('' when none did)
  remote_host VARCHAR(300) NOT NULL,
  -- the remote answer, the mailbox, or what was done and by whom
  detail VARCHAR(1000) NOT NULL
);
CREATE INDEX trace_events_at ON trace_events(event_at);
CREATE INDEX trace_events_queue ON trace_events(queue_id);
CREATE INDEX trace_events_message ON trace_events(message_key);
CREATE INDEX trace_events_recipient ON trace_events(recipient_key);
