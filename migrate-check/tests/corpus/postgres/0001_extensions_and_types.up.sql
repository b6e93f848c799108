/* Nested comments are PostgreSQL's: /* inner; */ still a comment; */
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE SCHEMA IF NOT EXISTS app;

CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE app.address AS (street text, city text, zip varchar(10));
CREATE TYPE app.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE DOMAIN app.email AS citext CHECK (VALUE ~ '^[^@]+@[^@]+$');

CREATE TABLE app.users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email app.email NOT NULL UNIQUE,
    mood app.mood NOT NULL DEFAULT 'ok',
    home app.address,
    note text DEFAULT E'it\'s; here\\',
    unicode text DEFAULT U&'d\0061t\+000061; ok',
    tags text[] NOT NULL DEFAULT '{}',
    settings jsonb NOT NULL DEFAULT '{"a": 1}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    name_search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(note, ''))) STORED
);
COMMENT ON TABLE app.users IS $$Users; with a dollar-quoted comment$$;
COMMENT ON COLUMN app.users.mood IS 'how they feel';
