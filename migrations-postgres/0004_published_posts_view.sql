CREATE VIEW published_posts AS
SELECT posts.id, posts.title, users.display_name AS author, posts.published_at, posts.comment_count
FROM posts
JOIN users ON users.id = posts.author_id
WHERE posts.published_at IS NOT NULL;
