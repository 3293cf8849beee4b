-- Coverage: what is loaded.

-- Coverage: per table, dataset and instrument, the first and last ts and the
-- row count; table_name and dataset filter when not NULL.
-- name: Coverage :many
SELECT table_name, dataset, instrument_id, first_ts, last_ts, row_count
FROM coverage
WHERE (sqlc.narg(table_name)::text IS NULL OR table_name = sqlc.narg(table_name)::text)
  AND (sqlc.narg(dataset)::text IS NULL OR dataset = sqlc.narg(dataset)::text)
ORDER BY table_name, dataset, instrument_id;
