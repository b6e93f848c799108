DROP TABLE app.users;
DROP DOMAIN app.email;
DROP TYPE app.floatrange, app.address, app.mood;
DROP SCHEMA app;
DROP EXTENSION btree_gist;
