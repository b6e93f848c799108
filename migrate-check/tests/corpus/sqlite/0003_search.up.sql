-- Modules built into the bundled SQLite: FTS5, R*Tree, JSON.
CREATE VIRTUAL TABLE posts_fts USING fts5 (title, body, content = 'posts', content_rowid = 'id');
CREATE VIRTUAL TABLE places USING rtree (id, min_x, max_x, min_y, max_y);

INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    kind TEXT GENERATED ALWAYS AS (json_extract(payload, '$.kind')) VIRTUAL
);
CREATE INDEX events_by_kind ON events (kind);

WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
INSERT INTO events (payload) SELECT json_object('kind', 'tick', 'i', i) FROM n;

UPDATE events SET payload = json_set(payload, '$.seen', json('true'))
WHERE id IN (SELECT id FROM events ORDER BY id LIMIT 2)
RETURNING id;

SELECT kind, count(*) OVER (PARTITION BY kind ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
FROM events;
