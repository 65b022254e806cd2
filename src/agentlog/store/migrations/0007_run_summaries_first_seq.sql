-- The run_summaries view now lives in store/views/ (re-created at every open).
DROP VIEW IF EXISTS run_summaries;
