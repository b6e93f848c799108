CREATE TABLE in_public (id int);
SELECT 1 FROM public.in_public, app.in_app;
