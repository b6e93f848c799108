DROP FUNCTION app.slow(int);
DROP PROCEDURE app.cleanup(int);
DROP FUNCTION app.add(integer, integer);
DROP TRIGGER users_touch ON app.users;
DROP FUNCTION app.touch();
