-- Shapes from real services, each valid on PostgreSQL 15.

-- Extensions: trigram search, and a type from another one.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS hstore;

-- An enum created only if it is missing, as teams write it to re-run a
-- script by hand: the DO block catches the duplicate.
DO $$
BEGIN
    CREATE TYPE app.order_state AS ENUM ('new', 'paid', 'shipped');
EXCEPTION
    WHEN duplicate_object THEN NULL;
END
$$;
ALTER TYPE app.order_state RENAME VALUE 'shipped' TO 'sent';

-- Partitioning two levels deep, with an index on the parent that each
-- partition gets, and a foreign key to a partitioned table.
CREATE TABLE app.orders (
    id bigint GENERATED ALWAYS AS IDENTITY,
    placed_at timestamptz NOT NULL,
    region text NOT NULL,
    state app.order_state NOT NULL DEFAULT 'new',
    history app.order_state[] NOT NULL DEFAULT '{}',
    attributes hstore,
    total_cents bigint NOT NULL CHECK (total_cents >= 0),
    PRIMARY KEY (id, placed_at, region)
) PARTITION BY RANGE (placed_at);
CREATE TABLE app.orders_2026 PARTITION OF app.orders
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')
    PARTITION BY LIST (region);
CREATE TABLE app.orders_2026_eu PARTITION OF app.orders_2026 FOR VALUES IN ('eu');
CREATE TABLE app.orders_2026_rest PARTITION OF app.orders_2026 DEFAULT;
CREATE INDEX orders_state ON app.orders (state) WHERE state <> 'sent';
CREATE TABLE app.order_lines (
    order_id bigint NOT NULL,
    placed_at timestamptz NOT NULL,
    region text NOT NULL,
    sku text NOT NULL,
    FOREIGN KEY (order_id, placed_at, region) REFERENCES app.orders (id, placed_at, region) ON DELETE CASCADE
);

-- Monthly partitions made by a loop, as partition managers do.
DO $$
DECLARE
    month date := date '2027-01-01';
BEGIN
    WHILE month < date '2027-04-01' LOOP
        EXECUTE format(
            'CREATE TABLE app.%I PARTITION OF app.orders FOR VALUES FROM (%L) TO (%L)',
            'orders_' || to_char(month, 'YYYY_MM'), month, month + interval '1 month'
        );
        month := month + interval '1 month';
    END LOOP;
END
$$;

-- Generated columns, added to an existing table, and indexed.
ALTER TABLE app.t ADD COLUMN sum_ab int GENERATED ALWAYS AS (coalesce(a, 0) + coalesce(b, 0)) STORED;
ALTER TABLE app.s ADD COLUMN v_search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(v, ''))) STORED;
CREATE INDEX s_search ON app.s USING gin (v_search);
CREATE INDEX s_v_trgm ON app.s USING gin (v gin_trgm_ops);

-- Row-level security with a role made idempotently, a restrictive policy
-- beside a permissive one, and a policy changed later.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_support') THEN
        CREATE ROLE app_support NOLOGIN;
    END IF;
END
$$;
ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_region ON app.orders
    FOR SELECT TO app_support
    USING (region = current_setting('app.region', true));
CREATE POLICY orders_not_archived ON app.orders AS RESTRICTIVE
    FOR ALL TO PUBLIC
    USING (placed_at >= date '2026-01-01');
ALTER POLICY orders_region ON app.orders USING (region = ANY (string_to_array(current_setting('app.regions', true), ',')));
GRANT SELECT ON app.orders TO app_support;

INSERT INTO app.orders (placed_at, region, total_cents, attributes)
VALUES ('2026-03-01', 'eu', 1200, 'gift => yes'), ('2027-02-01', 'us', 99, NULL);
