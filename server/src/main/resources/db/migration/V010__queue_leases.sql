-- Leases on the outbound queue (issue 20: several nodes share one database). A node takes a due recipient for a
-- while before it attempts it: lease_owner names the node, next_attempt becomes the end of the lease (so a node
-- that dies leaves the recipient due again when it ends, and the due index serves both), and lease_token counts
-- the claims: the fencing token. An attempt's temporary or permanent failure is recorded only while the token is
-- the one its claim returned; a delivery always is (the recipient then leaves the queue). Portable SQL: Derby and
-- PostgreSQL both add a column with a default to existing rows.
ALTER TABLE queue_recipients ADD COLUMN lease_owner VARCHAR(200);
ALTER TABLE queue_recipients ADD COLUMN lease_token INT NOT NULL DEFAULT 0;
