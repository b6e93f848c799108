CREATE TABLE posts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL,
    body text NOT NULL DEFAULT '',
    published_at timestamptz,
    comment_count integer NOT NULL DEFAULT 0
);

CREATE INDEX posts_by_author ON posts (author_id, published_at);
