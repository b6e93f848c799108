DROP TRIGGER user_posts_insert;
DROP VIEW user_posts;
DROP TRIGGER posts_count;
DROP TABLE post_counts;
DELETE FROM tags WHERE name = 'end';
