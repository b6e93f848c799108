-- migrate:no-transaction
DROP INDEX CONCURRENTLY app.users_created;
