DROP INDEX posts_by_author;
DROP TABLE posts;
