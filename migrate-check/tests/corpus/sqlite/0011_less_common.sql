-- Less common statements, each valid in the bundled SQLite.
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v ANY, n INTEGER NOT NULL DEFAULT 0) STRICT;
INSERT OR IGNORE INTO kv (k, v) VALUES ('a', 1), ('b', 'two'), ('c', x'03');
REPLACE INTO kv (k, v) VALUES ('a', 1.5);
INSERT INTO kv (k, v) VALUES ('a', 2) ON CONFLICT (k) DO UPDATE SET n = n + 1 WHERE excluded.v IS NOT NULL;
CREATE TABLE kv_copy AS SELECT k, v FROM kv WHERE iif(typeof(v) = 'text', 1, 0);
UPDATE kv SET n = c.cnt FROM (SELECT k, count(*) AS cnt FROM kv_copy GROUP BY k) AS c WHERE kv.k = c.k;
SELECT '{"a": [1, 2]}' -> '$.a' ->> 1, unixepoch('2026-01-01'), json_group_array(k) FILTER (WHERE n > 0) FROM kv;
SELECT k, sum(n) OVER (ORDER BY k GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE TIES) FROM kv ORDER BY v NULLS FIRST;
CREATE INDEX IF NOT EXISTS kv_n ON kv (n DESC, k COLLATE NOCASE);
REINDEX kv_n;
ANALYZE;
PRAGMA user_version = 11;
CREATE TRIGGER IF NOT EXISTS kv_count AFTER UPDATE OF v ON kv FOR EACH ROW WHEN OLD.v IS NOT NEW.v
BEGIN
    UPDATE kv SET n = n + 1 WHERE k = NEW.k;
    DELETE FROM kv_copy WHERE k = NEW.k AND (SELECT CASE WHEN NEW.n > 3 THEN 1 END) IS NOT NULL;
END;
DROP VIEW IF EXISTS nothing_here;
DELETE FROM kv WHERE k = 'c' RETURNING k, v;
SELECT name FROM sqlite_sequence LIMIT 1;
