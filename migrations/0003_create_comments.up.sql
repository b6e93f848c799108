CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Keep posts.comment_count in step; a semicolon inside the body does not end the trigger.
CREATE TRIGGER comments_count_insert AFTER INSERT ON comments
BEGIN
    UPDATE posts
    SET comment_count = comment_count + CASE WHEN NEW.body = '' THEN 0 ELSE 1 END
    WHERE id = NEW.post_id;
END;
