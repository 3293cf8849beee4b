-- Coverage: what is loaded.

-- Coverage: per table, dataset and instrument, the first and last ts and the
-- row count; table_name and dataset filter when not NULL.
-- name: Coverage :many
SELECT table_name, dataset, instrument_id, first_ts, last_ts, row_count
FROM coverage
WHERE (sqlc.narg(table_name)::text IS NULL OR table_name = sqlc.narg(table_name)::text)
  AND (sqlc.narg(dataset)::text IS NULL OR dataset = sqlc.narg(dataset)::text)
ORDER BY table_name, dataset, instrument_id;

-- CoverageDaily: rows loaded per table, dataset, instrument and period, as
-- the loader counted them (no scan of the tables). bucket is the period: a
-- UTC day (the default), an ISO week (from Monday), a calendar month, or auto
-- (days up to 100 days of range, weeks up to 100 weeks, months beyond); day
-- is its first day and days counts its days with rows. raw_symbol is the
-- instrument's symbol in the period (its raw_symbol mapping that day, else
-- its latest definition up to that day, as the bars name contracts; NULL when
-- neither is loaded): an instrument id names one contract only within a day.
-- With symbols, only the instruments each symbol named on each day (as the
-- bars resolve it: in dataset, else in each dataset with symbol mappings),
-- and symbol says which. table_name, dataset, start_day and end_day filter
-- when not NULL.
-- @param start_day date "first day, included (default: the first loaded)"
-- @param end_day date "last day, included (default: the last loaded)"
-- @param bucket text "day (default), week, month, or auto (picked from the range: about 100 periods or fewer)"
-- @param symbols text[] "only what these symbols named, comma-separated: ES.c.0, ES.FUT, ESH4, 5482"
-- name: CoverageDaily :many
WITH picked AS (
    SELECT NULL::text AS symbol, c.table_name, c.dataset, c.instrument_id, c.day, c.row_count, c.first_ts, c.last_ts,
           coalesce(
               (SELECT m.stype_in_symbol FROM symbol_mappings m
                WHERE m.dataset = c.dataset AND m.instrument_id = c.instrument_id AND m.stype_in = 'raw_symbol'
                  AND m.start_date <= c.day AND c.day < m.end_date
                ORDER BY m.loaded_at DESC LIMIT 1),
               (SELECT d.raw_symbol FROM definition d
                WHERE d.dataset = c.dataset AND d.instrument_id = c.instrument_id
                  AND d.ts < (c.day + 1)::timestamp AT TIME ZONE 'UTC'
                ORDER BY d.ts DESC LIMIT 1)) AS raw_symbol
    FROM coverage_daily c
    WHERE sqlc.narg(symbols)::text[] IS NULL
      AND (sqlc.narg(start_day)::date IS NULL OR c.day >= sqlc.narg(start_day)::date)
      AND (sqlc.narg(end_day)::date IS NULL OR c.day <= sqlc.narg(end_day)::date)
      AND (sqlc.narg(table_name)::text IS NULL OR c.table_name = sqlc.narg(table_name)::text)
      AND (sqlc.narg(dataset)::text IS NULL OR c.dataset = sqlc.narg(dataset)::text)
    UNION ALL
    SELECT p.symbol, c.table_name, c.dataset, c.instrument_id, c.day, c.row_count, c.first_ts, c.last_ts, nullif(p.raw_symbol, '')
    FROM (SELECT sqlc.narg(dataset)::text AS dataset WHERE sqlc.narg(dataset)::text IS NOT NULL
          UNION
          SELECT DISTINCT m.dataset FROM symbol_mappings m WHERE sqlc.narg(dataset)::text IS NULL) AS ds
    CROSS JOIN LATERAL symbol_periods(ds.dataset, sqlc.narg(symbols)::text[],
        coalesce(sqlc.narg(start_day)::date, (SELECT min(x.day) FROM coverage_daily x))::timestamp AT TIME ZONE 'UTC',
        (coalesce(sqlc.narg(end_day)::date, (SELECT max(x.day) FROM coverage_daily x)) + 1)::timestamp AT TIME ZONE 'UTC')
        AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
    JOIN coverage_daily c ON c.dataset = ds.dataset AND c.instrument_id = p.instrument_id AND c.day = p.day
    WHERE sqlc.narg(symbols)::text[] IS NOT NULL
      AND (sqlc.narg(table_name)::text IS NULL OR c.table_name = sqlc.narg(table_name)::text)
), unit AS (
    SELECT CASE WHEN coalesce(sqlc.narg(bucket)::text, 'day') <> 'auto' THEN coalesce(sqlc.narg(bucket)::text, 'day')
                WHEN s.span <= 100 THEN 'day'
                WHEN s.span <= 700 THEN 'week'
                ELSE 'month' END AS bucket
    FROM (SELECT coalesce(sqlc.narg(end_day)::date, max(day)) - coalesce(sqlc.narg(start_day)::date, min(day)) AS span
          FROM picked) AS s
)
SELECT p.table_name, p.dataset, p.instrument_id, p.raw_symbol,
       date_trunc(u.bucket, p.day::timestamp)::date AS day,
       sum(p.row_count)::bigint AS row_count, min(p.first_ts)::timestamptz AS first_ts, max(p.last_ts)::timestamptz AS last_ts,
       u.bucket::text AS bucket, count(*)::bigint AS days, p.symbol
FROM picked p CROSS JOIN unit u
GROUP BY p.table_name, p.dataset, p.symbol, p.instrument_id, p.raw_symbol, u.bucket, 5
ORDER BY p.table_name, p.dataset, p.symbol, p.instrument_id, 5, p.raw_symbol
LIMIT sqlc.narg(row_limit)::bigint;
