-- migrate:no-transaction
-- SQLite's twelve-step table rebuild: foreign keys must be off, and
-- PRAGMA foreign_keys is ignored inside a transaction, so this file runs
-- outside one and opens its own.
PRAGMA foreign_keys = OFF;
BEGIN;
-- Views that name the table go first, or the rename fails.
DROP VIEW user_posts;
CREATE TABLE users_new (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    "end" TEXT,
    `back;tick` TEXT,
    created_at TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO users_new (id, email, "end", `back;tick`, created_at, display_name)
    SELECT id, email, "end", `back;tick`, created_at, coalesce(display_name, '') FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
CREATE VIEW user_posts AS
    SELECT u.email, p.title, p.slug FROM users AS u JOIN posts AS p ON p.user_id = u.id;
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
VACUUM;
ATTACH ':memory:' AS scratch;
CREATE TABLE scratch.t (a);
DETACH scratch;
