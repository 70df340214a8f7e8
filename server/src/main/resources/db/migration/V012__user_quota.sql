-- The account's own storage limit (RFC 9208 §4.1.3 SETQUOTA, issue 19), apart from the administrator's quota_bytes:
-- 0 means the user set none. The user may set it to any value up to quota_bytes (when that is not 0); the limit in
-- force is the smaller of the two that are set (store.Account.limitBytes). The console and the CLI change only
-- quota_bytes. Portable SQL: Derby and PostgreSQL both add a column with a default to existing rows.
ALTER TABLE accounts ADD COLUMN user_quota_bytes BIGINT NOT NULL DEFAULT 0;
