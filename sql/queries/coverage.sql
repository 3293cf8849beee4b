-- Coverage: what is loaded.

-- Coverage: per table, dataset and instrument, the first and last ts and the
-- row count; table_name and dataset filter when not NULL.
-- name: Coverage :many
SELECT table_name, dataset, instrument_id, first_ts, last_ts, row_count
FROM coverage
WHERE (sqlc.narg(table_name)::text IS NULL OR table_name = sqlc.narg(table_name)::text)
  AND (sqlc.narg(dataset)::text IS NULL OR dataset = sqlc.narg(dataset)::text)
ORDER BY table_name, dataset, instrument_id;

-- CoverageDaily: rows loaded per table, dataset, instrument and UTC day in
-- [start_day, end_day], as the loader counted them (no scan of the tables);
-- table_name and dataset filter when not NULL.
-- @param start_day date "first day, included"
-- @param end_day date "last day, included"
-- name: CoverageDaily :many
SELECT table_name, dataset, instrument_id, day, row_count, first_ts, last_ts
FROM coverage_daily
WHERE day >= @start_day AND day <= @end_day
  AND (sqlc.narg(table_name)::text IS NULL OR table_name = sqlc.narg(table_name)::text)
  AND (sqlc.narg(dataset)::text IS NULL OR dataset = sqlc.narg(dataset)::text)
ORDER BY table_name, dataset, instrument_id, day
LIMIT sqlc.narg(row_limit)::bigint;
