-- A new enum value, committed on its own: the migrations after it may use it.
-- migrate:no-transaction
ALTER TYPE app.mood ADD VALUE 'meh' BEFORE 'ok';
