-- The table the no-check migration could create still exists.
INSERT INTO notes (text) VALUES ('kept');
