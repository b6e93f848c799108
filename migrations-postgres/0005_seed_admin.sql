INSERT INTO users (email, display_name) VALUES ('admin@example.com', 'Administrator');

INSERT INTO posts (author_id, title, body, published_at)
SELECT id, 'Welcome', 'It''s up and running; say hello.', now()
FROM users
WHERE email = 'admin@example.com';
