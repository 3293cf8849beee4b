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
-- [start_day, end_day], as the loader counted them (no scan of the tables),
-- with the instrument's raw symbol (its latest definition, else a raw
-- symbol mapping; NULL when neither is loaded); table_name and dataset
-- filter when not NULL, and so do start_day and end_day (included).
-- @param start_day date "first day, included (default: the first loaded)"
-- @param end_day date "last day, included (default: the last loaded)"
-- name: CoverageDaily :many
SELECT c.table_name, c.dataset, c.instrument_id,
       coalesce((SELECT d.raw_symbol FROM definition d
                 WHERE d.dataset = c.dataset AND d.instrument_id = c.instrument_id ORDER BY d.ts DESC LIMIT 1),
                (SELECT m.stype_in_symbol FROM symbol_mappings m
                 WHERE m.dataset = c.dataset AND m.instrument_id = c.instrument_id AND m.stype_in = 'raw_symbol'
                 ORDER BY m.end_date DESC LIMIT 1))::text AS raw_symbol,
       c.day, c.row_count, c.first_ts, c.last_ts
FROM coverage_daily c
WHERE (sqlc.narg(start_day)::date IS NULL OR c.day >= sqlc.narg(start_day)::date)
  AND (sqlc.narg(end_day)::date IS NULL OR c.day <= sqlc.narg(end_day)::date)
  AND (sqlc.narg(table_name)::text IS NULL OR c.table_name = sqlc.narg(table_name)::text)
  AND (sqlc.narg(dataset)::text IS NULL OR c.dataset = sqlc.narg(dataset)::text)
ORDER BY c.table_name, c.dataset, c.instrument_id, c.day
LIMIT sqlc.narg(row_limit)::bigint;
