-- A migration may read migrate's own history table.
CREATE TABLE audit (version INTEGER NOT NULL, note TEXT);
INSERT INTO audit (version, note) SELECT version, description FROM _migrations WHERE finished = 1;
