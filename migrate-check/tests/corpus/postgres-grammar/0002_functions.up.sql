-- Bodies in dollar quotes, with `;`, comments and other dollar quotes inside.
CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    -- a comment; inside the body
    NEW.created_at := now();
    EXECUTE $q$ SELECT 1; $q$;
    RETURN NEW;
END;
$body$;

CREATE TRIGGER users_touch BEFORE UPDATE ON app.users
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION app.touch();

CREATE FUNCTION app.add(a integer, b integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    BEGIN ATOMIC
        SELECT a + b;
        SELECT CASE WHEN a > b THEN a ELSE b END;
    END;

CREATE PROCEDURE app.cleanup(days int DEFAULT 30)
LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz := now() - make_interval(days => days);
BEGIN
    DELETE FROM app.users WHERE created_at < cutoff AND mood = 'sad';
    COMMIT;
END
$$;

CREATE FUNCTION app.slow(x int) RETURNS int LANGUAGE sql STABLE COST 1000 AS 'SELECT x * 2';

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT id FROM app.users LOOP
        RAISE NOTICE 'user % ; ok', r.id;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_reader') THEN
        CREATE ROLE app_reader NOLOGIN;
    END IF;
END
$$;

DO LANGUAGE plpgsql $do$ BEGIN PERFORM app.add(1, 2); END $do$;
