-- TLS reporting (RFC 8460) reports sent, issue 17. Portable SQL: the same file on both engines (as V016).
-- tls_rpt_details: the failed sessions of one UTC day (YYYY-MM-DD), policy domain and result type by the MX host and
-- address they were with ("" where none: a policy fetch), for a report's failure-details (§4.4).
CREATE TABLE tls_rpt_details (
  day VARCHAR(10) NOT NULL,
  domain VARCHAR(255) NOT NULL,
  result VARCHAR(40) NOT NULL,
  mx_host VARCHAR(255) NOT NULL,
  receiving_ip VARCHAR(45) NOT NULL,
  sessions BIGINT NOT NULL,
  PRIMARY KEY (day, domain, result, mx_host, receiving_ip)
);
-- tls_rpt_reports: one row per day and policy domain whose report was handled, inserted before anything is sent (the
-- insert is the claim: a second node, or a restart, finds the row and sends nothing); destinations and result are
-- filled in once it was sent (or why it was not).
CREATE TABLE tls_rpt_reports (
  day VARCHAR(10) NOT NULL,
  domain VARCHAR(255) NOT NULL,
  report_id VARCHAR(200) NOT NULL,
  claimed_at TIMESTAMP NOT NULL,
  node VARCHAR(200) NOT NULL,
  destinations VARCHAR(2000) NOT NULL,
  result VARCHAR(2000) NOT NULL,
  PRIMARY KEY (day, domain)
);
