-- migrate:sqlite-function b642bin/1
SELECT b642bin(b64) FROM blobs;
DROP TABLE blobs;
