-- The intake journal (store/Intake.java): the sequence number of the last journaled message whose rows are
-- committed; committed in the same transaction as those rows, so that a restart applies each message once.
CREATE TABLE intake (id INT NOT NULL PRIMARY KEY, applied_seq BIGINT NOT NULL);
INSERT INTO intake (id, applied_seq) VALUES (1, 0);
