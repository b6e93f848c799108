-- Trigger bodies hold `;` and `CASE … END`, which must not end the statement.
CREATE TABLE post_counts (user_id INTEGER PRIMARY KEY, posts INTEGER NOT NULL, size TEXT);

CREATE TRIGGER posts_count AFTER INSERT ON posts
BEGIN
    INSERT INTO post_counts (user_id, posts, size) VALUES (NEW.user_id, 1, 'small')
        ON CONFLICT (user_id) DO UPDATE SET
            posts = posts + 1,
            size = CASE WHEN posts + 1 > 10 THEN 'large' ELSE 'small' END;
    UPDATE tags SET uses = uses + 1 WHERE name = 'end';
END;

CREATE TEMP TRIGGER IF NOT EXISTS never_empty BEFORE UPDATE OF title ON posts
WHEN NEW.title = ''
BEGIN
    SELECT RAISE(ABORT, 'a title cannot be empty; write one');
END;

CREATE VIEW user_posts AS
    SELECT u.email, p.title, p.slug FROM users AS u JOIN posts AS p ON p.user_id = u.id;

CREATE TRIGGER user_posts_insert INSTEAD OF INSERT ON user_posts
BEGIN
    INSERT INTO posts (user_id, title)
        SELECT id, NEW.title FROM users WHERE email = NEW.email;
END;

INSERT INTO tags (name) VALUES ('end');
INSERT INTO user_posts (email, title) VALUES ('ada@example.com', 'Hello; world');

-- A TEMP object belongs to the connection: a migration must not leave one behind.
DROP TRIGGER never_empty;
