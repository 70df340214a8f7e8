-- Outbound MTA-STS (RFC 8461) and TLS reporting counts (RFC 8460), issue 17. Portable SQL: the same file on both
-- engines.
-- mta_sts_policies: the policy last fetched for a recipient domain (lower case), kept until expires_at (fetch time
-- plus its max_age, at most 31557600 s) so that a restart, or another node, still applies it when the policy host
-- cannot be reached (RFC 8461 §3.3, §5.1). mx: the policy's mx patterns, one per line.
CREATE TABLE mta_sts_policies (
  domain VARCHAR(255) NOT NULL PRIMARY KEY,
  policy_id VARCHAR(32) NOT NULL,
  mode VARCHAR(10) NOT NULL,
  mx VARCHAR(16000) NOT NULL,
  max_age BIGINT NOT NULL,
  fetched_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
);
-- tls_rpt_counts: TLS sessions (or policy look-ups that failed) per UTC day (YYYY-MM-DD), policy domain and RFC 8460 result type
-- ("success", "starttls-not-supported", "certificate-host-mismatch", ...): what a daily TLS report summarises.
CREATE TABLE tls_rpt_counts (
  day VARCHAR(10) NOT NULL,
  domain VARCHAR(255) NOT NULL,
  result VARCHAR(40) NOT NULL,
  sessions BIGINT NOT NULL,
  PRIMARY KEY (day, domain, result)
);
