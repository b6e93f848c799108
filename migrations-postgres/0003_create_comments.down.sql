DROP TRIGGER comments_count_insert ON comments;
DROP FUNCTION comments_count_insert();
DROP TABLE comments;
