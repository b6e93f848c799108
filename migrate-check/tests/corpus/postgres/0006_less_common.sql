-- Less common statements, each valid on PostgreSQL 15, run one at a time
-- outside a transaction.
-- migrate:no-transaction
CREATE TABLE app.t (id int PRIMARY KEY, a int, b int, v text, name text);
CREATE TABLE app.s (id int PRIMARY KEY, v text, gone boolean NOT NULL DEFAULT false);
CREATE FUNCTION app.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE FUNCTION app.inc(i int) RETURNS int LANGUAGE sql IMMUTABLE RETURN i + 1;
CREATE PROCEDURE app.p() LANGUAGE sql BEGIN ATOMIC INSERT INTO app.s (id, v) VALUES (1, 'one'); END;
CALL app.p();
CREATE OR REPLACE TRIGGER t_audit AFTER INSERT ON app.t REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION app.audit();
CREATE AGGREGATE app.mysum(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0');
CREATE OPERATOR app.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq);
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO app_reader;
CREATE PUBLICATION pub FOR TABLE app.t WITH (publish = 'insert');
CREATE COLLATION app.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TEXT SEARCH CONFIGURATION app.fr (COPY = french);
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db', dbname 'x');
CREATE FOREIGN TABLE app.ft (id int) SERVER remote OPTIONS (table_name 't');
CREATE CAST (text AS app.mood) WITH INOUT AS IMPLICIT;
SET LOCAL statement_timeout = '5s';
SET search_path TO app, public;
RESET search_path;
CLUSTER app.t USING t_pkey;
CREATE TABLE app.events_2027 (LIKE app.events INCLUDING DEFAULTS);
ALTER TABLE app.events ATTACH PARTITION app.events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
CREATE TABLE app.by_region_us PARTITION OF app.by_region FOR VALUES IN ('us');
ALTER TABLE app.by_region DETACH PARTITION app.by_region_us CONCURRENTLY;
MERGE INTO app.t AS t USING app.s AS s ON t.id = s.id WHEN MATCHED AND s.gone THEN DELETE WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v);
CREATE UNIQUE INDEX u ON app.t (a, b) NULLS NOT DISTINCT;
COMMENT ON EXTENSION pgcrypto IS 'crypto';
GRANT USAGE ON SCHEMA app TO app_reader;
REVOKE ALL ON app.t FROM PUBLIC;
NOTIFY chan, 'payload';
LISTEN chan;
CREATE TABLE app.copy (LIKE app.t INCLUDING ALL);
CREATE TABLE app.child () INHERITS (app.t);
CREATE UNLOGGED TABLE app.cache (k text PRIMARY KEY, v bytea) WITH (fillfactor = 70);
SELECT ARRAY[1, 2] @> ARRAY[1], '{"a":{"b":1}}'::jsonb #>> '{a,b}', 'x' ~* 'X', 1 IS DISTINCT FROM 2, 'app.t'::regclass, B'101', X'FF', '{1,2}'::int[][];
SELECT count(*) FILTER (WHERE a > 1), percentile_cont(0.5) WITHIN GROUP (ORDER BY a) FROM app.t GROUP BY GROUPING SETS ((a), ()) ;
SELECT * FROM app.t AS t CROSS JOIN LATERAL (SELECT * FROM app.s WHERE s.id = t.id LIMIT 1) AS l ORDER BY 1 FETCH FIRST 1 ROWS WITH TIES;
SELECT * FROM app.t TABLESAMPLE SYSTEM (10) FOR UPDATE SKIP LOCKED;
SELECT name COLLATE "C" FROM app.t;
DO $outer$
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I (id int)', 'dyn');
    RAISE EXCEPTION 'bad: %', 1 USING ERRCODE = 'P0001', HINT = 'fix it';
EXCEPTION WHEN others THEN
    RAISE NOTICE 'caught';
END
$outer$;
CREATE TABLE app.t2 (id int CONSTRAINT pos CHECK (id > 0) NO INHERIT, ts timestamp(3) with time zone, iv interval hour to minute, d double precision, c character varying(10), n numeric(5,2));
ALTER TABLE app.t2 ALTER COLUMN id TYPE bigint USING id::bigint, ALTER COLUMN c SET NOT NULL;
ALTER TABLE app.t2 ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES app.t (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE app.t2 ALTER CONSTRAINT fk NOT DEFERRABLE;
SET CONSTRAINTS ALL DEFERRED;
CREATE INDEX CONCURRENTLY ON app.t2 USING gin (to_tsvector('english', c));
CREATE INDEX ON app.t2 USING brin (ts) WITH (pages_per_range = 32);
ANALYZE app.t2;
TRUNCATE app.t2 RESTART IDENTITY CASCADE;
ALTER TABLE app.t2 SET SCHEMA public;
ALTER FUNCTION app.inc(int) SECURITY DEFINER SET search_path = app, pg_temp;
CREATE CONSTRAINT TRIGGER ct AFTER INSERT ON public.t2 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.audit();
