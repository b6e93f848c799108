CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    published_at TEXT,
    comment_count INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX posts_by_author ON posts (author_id, published_at);
