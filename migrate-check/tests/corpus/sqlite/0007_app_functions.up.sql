-- migrate:sqlite-function bin2b64/1 my_checksum/*
-- The application registers these on its connection.
CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL, b64 TEXT GENERATED ALWAYS AS (bin2b64(data)) VIRTUAL);
CREATE INDEX blobs_b64 ON blobs (bin2b64(data));
INSERT INTO blobs (data) VALUES (x'00ff');
SELECT my_checksum(data, id, 'x') FROM blobs;
