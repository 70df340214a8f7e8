-- The keys the nodes of one database share (issue 20; store/SharedKeys.java). Portable SQL: the same file on both
-- engines (as V016, V017). Written on PostgreSQL only: a Derby server (one node) keeps its keys in data_dir/dkim/ and
-- data_dir/tls/ as before, and these tables stay empty there (store migrate copies them either way).
-- dkim_keys: a domain's DKIM key per selector (delivery/Dkim.java), PEM: the private key PKCS #8, the public key
-- SubjectPublicKeyInfo. The insert is the claim: a node that finds no row makes a key and inserts it; when another
-- node's insert came first, it uses that one, never its own.
CREATE TABLE dkim_keys (
  domain VARCHAR(255) NOT NULL,
  selector VARCHAR(63) NOT NULL,
  private_key VARCHAR(16000) NOT NULL,
  public_key VARCHAR(4000) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  node VARCHAR(200) NOT NULL,
  PRIMARY KEY (domain, selector)
);
-- tls_certificate: the certificate installed through the admin console or by ACME on any node (net/Tls.java), one
-- row (id 1): its chain and key, PEM; every node without [tls] files serves it.
CREATE TABLE tls_certificate (
  id INT NOT NULL PRIMARY KEY,
  chain_pem VARCHAR(32000) NOT NULL,
  key_pem VARCHAR(16000) NOT NULL,
  installed_at TIMESTAMP NOT NULL,
  node VARCHAR(200) NOT NULL
);
