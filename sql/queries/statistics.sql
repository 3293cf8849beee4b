-- Venue statistics (schema statistics).

-- Statistics: rows of statistics for a dataset and instrument ids in
-- [start_ts, end_ts) of ts, optionally only some stat types (NULL: all).
-- name: Statistics :many
SELECT * FROM statistics
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
  AND (sqlc.narg(stat_types)::integer[] IS NULL OR stat_type = ANY(sqlc.narg(stat_types)::integer[]))
ORDER BY ts, instrument_id, stat_type
LIMIT @row_limit;

-- StatisticsDecimal: statistics with the stat type's name, an exact decimal
-- price and nanosecond ISO 8601 times (statistics_v).
-- name: StatisticsDecimal :many
SELECT * FROM statistics_v
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id, stat_type
LIMIT @row_limit;

-- StatTypes: the statistics code table.
-- name: StatTypes :many
SELECT stat_type, name, description FROM stat_types ORDER BY stat_type;

-- SymbolStatistics: statistics records of symbols resolved per day, with the
-- stat type's name; stat_types (Databento codes: 3 settlement_price,
-- 6 cleared_volume, 9 open_interest, ... see the stat_types table) filters
-- when not NULL. Prices in 1e-9 units, times in ns.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param stat_types integer[] "stat type codes, comma-separated (omit: all)"
-- name: SymbolStatistics :many
WITH asked AS (
    SELECT DISTINCT s::text AS symbol FROM unnest(@symbols::text[]) AS s
), bounds AS (
    SELECT @start_ts::timestamptz AS start_ts, @end_ts::timestamptz AS end_ts
), days AS (
    -- The UTC days that [start_ts, end_ts) touches.
    SELECT g::date AS day
    FROM bounds bd,
         generate_series((bd.start_ts AT TIME ZONE 'UTC')::date::timestamp,
                         ((bd.end_ts AT TIME ZONE 'UTC') - interval '1 microsecond')::date::timestamp,
                         interval '1 day') AS g
), mapped AS (
    -- A continuous symbol names one contract a day (the latest load wins
    -- if two loads disagree); a parent symbol names many.
    SELECT DISTINCT ON (a.symbol, d.day, CASE WHEN m.stype_in = 'continuous' THEN 0 ELSE m.instrument_id END)
           a.symbol, d.day, m.instrument_id
    FROM asked a
    CROSS JOIN days d
    JOIN symbol_mappings m
      ON m.dataset = @dataset::text AND m.stype_in_symbol = a.symbol
     AND m.start_date <= d.day AND d.day < m.end_date
     AND m.instrument_id IS NOT NULL
    ORDER BY a.symbol, d.day, CASE WHEN m.stype_in = 'continuous' THEN 0 ELSE m.instrument_id END, m.loaded_at DESC
), resolved AS (
    SELECT x.symbol, x.day, x.instrument_id FROM mapped x
    UNION
    -- A numeric symbol without a mapping that day is an instrument id.
    SELECT n.symbol, d.day, n.id
    FROM (SELECT a.symbol, CASE WHEN a.symbol ~ '^[0-9]{1,18}$' THEN a.symbol::bigint END AS id FROM asked a) n
    CROSS JOIN days d
    WHERE n.id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM mapped x WHERE x.symbol = n.symbol AND x.day = d.day)
    UNION
    -- A raw symbol without a mapping that day: the instruments whose latest
    -- definition up to the end of the day carries it.
    SELECT a.symbol, d.day, d1.instrument_id
    FROM asked a
    CROSS JOIN days d
    JOIN definition d1
      ON d1.dataset = @dataset::text AND d1.raw_symbol = a.symbol
     AND d1.ts < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
    WHERE NOT EXISTS (SELECT 1 FROM mapped x WHERE x.symbol = a.symbol AND x.day = d.day)
      AND NOT EXISTS (
          SELECT 1 FROM definition d2
          WHERE d2.dataset = d1.dataset AND d2.instrument_id = d1.instrument_id
            AND d2.ts > d1.ts AND d2.ts < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
            AND d2.raw_symbol <> a.symbol)
), periods AS (
    -- Each (symbol, day, instrument) with the raw symbol of the contract that day
    -- and the half-open window of the day clipped to [start_ts, end_ts).
    SELECT r.symbol, r.instrument_id,
           coalesce(
               (SELECT m.stype_in_symbol FROM symbol_mappings m
                WHERE m.dataset = @dataset::text AND m.instrument_id = r.instrument_id
                  AND m.stype_in = 'raw_symbol' AND m.start_date <= r.day AND r.day < m.end_date
                ORDER BY m.loaded_at DESC LIMIT 1),
               (SELECT d.raw_symbol FROM definition d
                WHERE d.dataset = @dataset::text AND d.instrument_id = r.instrument_id
                  AND d.ts < (r.day + 1)::timestamp AT TIME ZONE 'UTC'
                ORDER BY d.ts DESC LIMIT 1),
               '')::text AS raw_symbol,
           greatest(r.day::timestamp AT TIME ZONE 'UTC', bd.start_ts) AS from_ts,
           least((r.day + 1)::timestamp AT TIME ZONE 'UTC', bd.end_ts) AS to_ts
    FROM resolved r, bounds bd
)
SELECT p.symbol, b.instrument_id, p.raw_symbol, b.ts_recv, b.ts_event, b.ts_ref,
       b.stat_type, st.name AS stat_name, b.price, b.quantity,
       b.update_action, b.stat_flags, b.publisher_id, b.sequence
FROM periods p
JOIN statistics b
  ON b.dataset = @dataset::text AND b.instrument_id = p.instrument_id
 AND b.ts >= p.from_ts AND b.ts < p.to_ts
 -- constant bounds too, so the planner can range-scan ts whatever join it picks
 AND b.ts >= @start_ts::timestamptz AND b.ts < @end_ts::timestamptz
JOIN stat_types st ON st.stat_type = b.stat_type
WHERE sqlc.narg(stat_types)::integer[] IS NULL OR b.stat_type = ANY(sqlc.narg(stat_types)::integer[])
ORDER BY b.ts, p.symbol, b.instrument_id, b.stat_type, b.sequence
LIMIT sqlc.narg(row_limit)::bigint;

-- DailyStatistics: per symbol, UTC day (of ts_recv) and instrument, the
-- settlement price (stat_type 3), open interest (9) and cleared volume (6):
-- the last new (update_action 1) record of each that day. Settlement in 1e-9
-- units; NULL when the venue sent none that day.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: DailyStatistics :many
WITH asked AS (
    SELECT DISTINCT s::text AS symbol FROM unnest(@symbols::text[]) AS s
), bounds AS (
    SELECT @start_ts::timestamptz AS start_ts, @end_ts::timestamptz AS end_ts
), days AS (
    -- The UTC days that [start_ts, end_ts) touches.
    SELECT g::date AS day
    FROM bounds bd,
         generate_series((bd.start_ts AT TIME ZONE 'UTC')::date::timestamp,
                         ((bd.end_ts AT TIME ZONE 'UTC') - interval '1 microsecond')::date::timestamp,
                         interval '1 day') AS g
), mapped AS (
    -- A continuous symbol names one contract a day (the latest load wins
    -- if two loads disagree); a parent symbol names many.
    SELECT DISTINCT ON (a.symbol, d.day, CASE WHEN m.stype_in = 'continuous' THEN 0 ELSE m.instrument_id END)
           a.symbol, d.day, m.instrument_id
    FROM asked a
    CROSS JOIN days d
    JOIN symbol_mappings m
      ON m.dataset = @dataset::text AND m.stype_in_symbol = a.symbol
     AND m.start_date <= d.day AND d.day < m.end_date
     AND m.instrument_id IS NOT NULL
    ORDER BY a.symbol, d.day, CASE WHEN m.stype_in = 'continuous' THEN 0 ELSE m.instrument_id END, m.loaded_at DESC
), resolved AS (
    SELECT x.symbol, x.day, x.instrument_id FROM mapped x
    UNION
    -- A numeric symbol without a mapping that day is an instrument id.
    SELECT n.symbol, d.day, n.id
    FROM (SELECT a.symbol, CASE WHEN a.symbol ~ '^[0-9]{1,18}$' THEN a.symbol::bigint END AS id FROM asked a) n
    CROSS JOIN days d
    WHERE n.id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM mapped x WHERE x.symbol = n.symbol AND x.day = d.day)
    UNION
    -- A raw symbol without a mapping that day: the instruments whose latest
    -- definition up to the end of the day carries it.
    SELECT a.symbol, d.day, d1.instrument_id
    FROM asked a
    CROSS JOIN days d
    JOIN definition d1
      ON d1.dataset = @dataset::text AND d1.raw_symbol = a.symbol
     AND d1.ts < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
    WHERE NOT EXISTS (SELECT 1 FROM mapped x WHERE x.symbol = a.symbol AND x.day = d.day)
      AND NOT EXISTS (
          SELECT 1 FROM definition d2
          WHERE d2.dataset = d1.dataset AND d2.instrument_id = d1.instrument_id
            AND d2.ts > d1.ts AND d2.ts < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
            AND d2.raw_symbol <> a.symbol)
), periods AS (
    -- Each (symbol, day, instrument) with the raw symbol of the contract that day
    -- and the half-open window of the day clipped to [start_ts, end_ts).
    SELECT r.symbol, r.instrument_id,
           coalesce(
               (SELECT m.stype_in_symbol FROM symbol_mappings m
                WHERE m.dataset = @dataset::text AND m.instrument_id = r.instrument_id
                  AND m.stype_in = 'raw_symbol' AND m.start_date <= r.day AND r.day < m.end_date
                ORDER BY m.loaded_at DESC LIMIT 1),
               (SELECT d.raw_symbol FROM definition d
                WHERE d.dataset = @dataset::text AND d.instrument_id = r.instrument_id
                  AND d.ts < (r.day + 1)::timestamp AT TIME ZONE 'UTC'
                ORDER BY d.ts DESC LIMIT 1),
               '')::text AS raw_symbol,
           greatest(r.day::timestamp AT TIME ZONE 'UTC', bd.start_ts) AS from_ts,
           least((r.day + 1)::timestamp AT TIME ZONE 'UTC', bd.end_ts) AS to_ts
    FROM resolved r, bounds bd
)
, keys AS (
    -- The (symbol, instrument, day) with any of the three statistics.
    SELECT p.symbol, p.instrument_id, p.raw_symbol, p.from_ts, p.to_ts
    FROM periods p
    WHERE EXISTS (
        SELECT 1 FROM statistics b
        WHERE b.dataset = @dataset::text AND b.instrument_id = p.instrument_id
          AND b.ts >= p.from_ts AND b.ts < p.to_ts
 -- constant bounds too, so the planner can range-scan ts whatever join it picks
 AND b.ts >= @start_ts::timestamptz AND b.ts < @end_ts::timestamptz
          AND b.stat_type IN (3, 6, 9) AND b.update_action = 1)
)
SELECT k.symbol, k.instrument_id, k.raw_symbol,
       (k.from_ts AT TIME ZONE 'UTC')::date AS day,
       se.price AS settlement, oi.quantity AS open_interest, cv.quantity AS cleared_volume
FROM keys k
LEFT JOIN LATERAL (
    SELECT s.price FROM statistics s
    WHERE s.dataset = @dataset::text AND s.instrument_id = k.instrument_id
      AND s.ts >= k.from_ts AND s.ts < k.to_ts AND s.stat_type = 3 AND s.update_action = 1
    ORDER BY s.ts_recv DESC, s.sequence DESC LIMIT 1) se ON true
LEFT JOIN LATERAL (
    SELECT s.quantity FROM statistics s
    WHERE s.dataset = @dataset::text AND s.instrument_id = k.instrument_id
      AND s.ts >= k.from_ts AND s.ts < k.to_ts AND s.stat_type = 9 AND s.update_action = 1
    ORDER BY s.ts_recv DESC, s.sequence DESC LIMIT 1) oi ON true
LEFT JOIN LATERAL (
    SELECT s.quantity FROM statistics s
    WHERE s.dataset = @dataset::text AND s.instrument_id = k.instrument_id
      AND s.ts >= k.from_ts AND s.ts < k.to_ts AND s.stat_type = 6 AND s.update_action = 1
    ORDER BY s.ts_recv DESC, s.sequence DESC LIMIT 1) cv ON true
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;
