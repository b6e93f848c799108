-- The history table exists while migrations run, with a row per migration.
INSERT INTO app.s (id, v)
SELECT version + 100, description FROM _migrations WHERE finished AND version < 9;
