-- migrate:no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created ON app.users (created_at DESC) INCLUDE (email)
    WHERE mood <> 'sad';
REINDEX INDEX CONCURRENTLY app.users_created;
DROP INDEX CONCURRENTLY IF EXISTS app.users_old;
VACUUM (ANALYZE, VERBOSE) app.users;
