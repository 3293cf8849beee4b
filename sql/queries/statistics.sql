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
LIMIT sqlc.narg(row_limit)::bigint;

-- StatisticsDecimal: statistics with the stat type's name, an exact decimal
-- price and nanosecond ISO 8601 times (statistics_v).
-- name: StatisticsDecimal :many
SELECT * FROM statistics_v
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id, stat_type
LIMIT sqlc.narg(row_limit)::bigint;

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
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol, b.ts_recv, b.ts_event, b.ts_ref,
       b.stat_type, st.name AS stat_name, b.price, b.quantity,
       b.update_action, b.stat_flags, b.publisher_id, b.sequence
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM statistics x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
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
WITH keys AS (
    -- The (symbol, instrument, day) with any of the three statistics.
    SELECT p.symbol::text AS symbol, p.instrument_id::bigint AS instrument_id, p.raw_symbol::text AS raw_symbol,
           p.from_ts::timestamptz AS from_ts, p.to_ts::timestamptz AS to_ts
    FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
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
