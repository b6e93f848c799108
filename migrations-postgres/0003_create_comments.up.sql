CREATE TABLE comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id bigint NOT NULL REFERENCES users (id),
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Keep posts.comment_count in step; the semicolons inside the $$ body do not end the statement.
CREATE FUNCTION comments_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE posts
    SET comment_count = comment_count + CASE WHEN NEW.body = '' THEN 0 ELSE 1 END
    WHERE id = NEW.post_id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER comments_count_insert AFTER INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_count_insert();
