-- migrate:no-transaction
-- Built without locking writes to comments, which a transaction would not allow.
-- If it fails part-way, drop the INVALID index it leaves, then delete this
-- migration's row from the history table to let it run again.
CREATE INDEX CONCURRENTLY comments_by_post ON comments (post_id, created_at);
