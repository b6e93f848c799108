ALTER TABLE app.users
    ADD COLUMN score numeric(10, 2) CHECK (score >= 0),
    ALTER COLUMN note SET DEFAULT 'none',
    ALTER COLUMN mood SET (n_distinct = 3),
    ADD CONSTRAINT users_email_check CHECK (email <> '') NOT VALID;
ALTER TABLE app.users VALIDATE CONSTRAINT users_email_check;
ALTER TABLE app.users RENAME COLUMN note TO remark;
CREATE FUNCTION app.on_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'dropped: %', tg_tag;
END
$$;
CREATE EVENT TRIGGER no_drops ON sql_drop EXECUTE FUNCTION app.on_drop();
CREATE OR REPLACE RULE users_log AS ON UPDATE TO app.users DO ALSO NOTIFY users_changed;
COMMENT ON FUNCTION app.add(integer, integer) IS 'adds';
SELECT 'a;b''c', "we;ird" FROM (SELECT 1 AS "we;ird") AS t;
