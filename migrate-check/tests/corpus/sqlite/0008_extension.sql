-- migrate:no-check
-- sqlite-vec is loaded by the application; the dry run does not have it.
CREATE VIRTUAL TABLE embeddings USING vec0 (embedding float[4]);
CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
