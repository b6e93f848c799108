ALTER TABLE posts RENAME COLUMN body TO content;
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE tags RENAME TO labels;
ALTER TABLE users DROP COLUMN [we;ird];
