DROP TABLE public.in_public;
