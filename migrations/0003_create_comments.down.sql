DROP TRIGGER comments_count_insert;
DROP TABLE comments;
