package postgres

// sharedSchema holds the tables of the state servers share besides the store's:
// the throttles, and the uploaded files' bytes.
const sharedSchema = `
CREATE TABLE throttle_keys (
	kind     text NOT NULL,
	key      text NOT NULL,
	failures timestamptz[] NOT NULL,
	newest   timestamptz NOT NULL,
	PRIMARY KEY (kind, key)
);
CREATE INDEX throttle_keys_newest ON throttle_keys (kind, newest);
CREATE TABLE throttle_checks (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind    text NOT NULL,
	key     text NOT NULL,
	expires timestamptz NOT NULL
);
CREATE INDEX throttle_checks_key ON throttle_checks (kind, key);
CREATE INDEX throttle_checks_expires ON throttle_checks (kind, expires);
CREATE TABLE files (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name     text UNIQUE,
	size     bigint NOT NULL DEFAULT 0,
	mod_time timestamptz NOT NULL
);
CREATE INDEX files_staged ON files (mod_time) WHERE name IS NULL;
CREATE TABLE file_chunks (
	file_id bigint NOT NULL REFERENCES files ON DELETE CASCADE,
	n       integer NOT NULL,
	data    bytea NOT NULL,
	PRIMARY KEY (file_id, n)
);
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
`
