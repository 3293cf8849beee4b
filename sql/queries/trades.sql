-- Trades (schema trades).

-- Trades: rows of trades for a dataset and instrument ids in the half-open
-- time range [start_ts, end_ts) of ts, in time order; at most row_limit rows.
-- name: Trades :many
SELECT * FROM trades
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id, sequence
LIMIT @row_limit;

-- TradesDecimal: the same rows as Trades with exact decimal prices and
-- nanosecond ISO 8601 times (trades_v).
-- name: TradesDecimal :many
SELECT * FROM trades_v
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id, sequence
LIMIT @row_limit;

-- CopyTrades: bulk-load trades with COPY (pgx CopyFrom). A batch that hits
-- trades_key fails whole with SQLSTATE 23505; the loader then takes the
-- staging + ON CONFLICT DO NOTHING path.
-- name: CopyTrades :copyfrom
INSERT INTO trades (
    dataset, ts, ts_recv, ts_event, rtype, publisher_id, instrument_id,
    action, side, depth, price, size, flags, ts_in_delta, sequence
) VALUES (
    @dataset, @ts, @ts_recv, @ts_event, @rtype, @publisher_id, @instrument_id,
    @action, @side, @depth, @price, @size, @flags, @ts_in_delta, @sequence
);

-- SymbolTrades: trades of symbols resolved per day (see bars.sql), with the
-- symbol asked for, the instrument id and the contract's raw symbol; prices
-- in 1e-9 units, ts_recv/ts_event in ns.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolTrades :many
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
SELECT p.symbol, b.instrument_id, p.raw_symbol, b.ts_recv, b.ts_event,
       b.publisher_id, b.action, b.side, b.depth, b.price, b.size, b.flags,
       b.ts_in_delta, b.sequence
FROM periods p
JOIN trades b
  ON b.dataset = @dataset::text AND b.instrument_id = p.instrument_id
 AND b.ts >= p.from_ts AND b.ts < p.to_ts
 -- constant bounds too, so the planner can range-scan ts whatever join it picks
 AND b.ts >= @start_ts::timestamptz AND b.ts < @end_ts::timestamptz
ORDER BY b.ts, p.symbol, b.instrument_id, b.sequence
LIMIT sqlc.narg(row_limit)::bigint;
