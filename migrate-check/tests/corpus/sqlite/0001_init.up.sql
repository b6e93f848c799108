-- The hard parts of SQLite's lexer: every quoting style, and a comment
-- that looks nested but is not: /* a /* b; */
/* a /* b; */
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    "end" TEXT DEFAULT 'x;y''z', -- a keyword as a column name
    [we;ird] TEXT,
    `back;tick` TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (length(email) > 3)
) STRICT;

CREATE TABLE posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT,
    slug TEXT GENERATED ALWAYS AS (lower(replace(title, ' ', '-'))) VIRTUAL,
    words INTEGER GENERATED ALWAYS AS (length(body) - length(replace(body, ' ', '')) + 1) STORED
);

CREATE TABLE tags (name TEXT PRIMARY KEY, uses INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;

CREATE INDEX posts_by_user ON posts (user_id, id DESC);
CREATE INDEX posts_with_body ON posts (user_id) WHERE body IS NOT NULL;
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

INSERT INTO users (email, "end", [we;ird], `back;tick`) VALUES
    ('ada@example.com', 'it''s; fine', '[x]', '`y`'),
    ('bob@example.com', NULL, NULL, NULL);
