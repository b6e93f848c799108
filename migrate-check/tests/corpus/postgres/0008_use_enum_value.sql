CREATE TABLE app.mood_log (mood app.mood NOT NULL DEFAULT 'meh', at timestamptz NOT NULL DEFAULT now());
INSERT INTO app.mood_log (mood) VALUES ('meh');
