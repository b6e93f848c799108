ALTER TABLE users ADD COLUMN [we;ird] TEXT;
ALTER TABLE labels RENAME TO tags;
ALTER TABLE users DROP COLUMN display_name;
ALTER TABLE posts RENAME COLUMN content TO body;
