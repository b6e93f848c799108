DROP TABLE app.order_lines;
DROP TABLE app.orders;
DROP INDEX app.s_v_trgm, app.s_search;
ALTER TABLE app.s DROP COLUMN v_search;
ALTER TABLE app.t DROP COLUMN sum_ab;
DROP TYPE app.order_state;
DROP EXTENSION hstore;
DROP EXTENSION pg_trgm;
