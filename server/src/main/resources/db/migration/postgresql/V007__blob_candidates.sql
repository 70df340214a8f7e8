-- PostgreSQL's form of V007 (the portable file's statement triggers are Derby's syntax): PostgreSQL runs a trigger
-- function, and names the deleted rows' transition table with REFERENCING OLD TABLE. Same table, same rows added.
CREATE TABLE blob_candidates (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  hash CHAR(64) NOT NULL
);
CREATE INDEX blob_candidates_hash ON blob_candidates(hash);
CREATE FUNCTION blob_candidates_add() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN INSERT INTO blob_candidates (hash) SELECT DISTINCT blob FROM gone; RETURN NULL; END
$$;
CREATE TRIGGER messages_blob_candidates AFTER DELETE ON messages REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION blob_candidates_add();
CREATE TRIGGER queue_blob_candidates AFTER DELETE ON queue_messages REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION blob_candidates_add();
