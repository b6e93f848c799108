-- A setting lasts until the end of the migration that makes it.
SET search_path TO app;
CREATE TABLE in_app (id int);
