-- Order book schemas: mbo, mbp-1, mbp-10, tbbo, bbo, cmbp-1, tcbbo, cbbo.

-- Mbo: market-by-order events.
-- Rows of mbo for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Mbo :many
SELECT * FROM mbo
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Mbp1: top-of-book events.
-- Rows of mbp_1 for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Mbp1 :many
SELECT * FROM mbp_1
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Mbp10: 10-level book events.
-- Rows of mbp_10 for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Mbp10 :many
SELECT * FROM mbp_10
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Tbbo: trades with the BBO before each.
-- Rows of tbbo for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Tbbo :many
SELECT * FROM tbbo
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Bbo1s: BBO sampled each second.
-- Rows of bbo_1s for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Bbo1s :many
SELECT * FROM bbo_1s
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Bbo1m: BBO sampled each minute.
-- Rows of bbo_1m for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Bbo1m :many
SELECT * FROM bbo_1m
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Cmbp1: consolidated top-of-book events.
-- Rows of cmbp_1 for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Cmbp1 :many
SELECT * FROM cmbp_1
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Tcbbo: trades with the consolidated BBO before each.
-- Rows of tcbbo for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Tcbbo :many
SELECT * FROM tcbbo
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Cbbo1s: consolidated BBO sampled each second.
-- Rows of cbbo_1s for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Cbbo1s :many
SELECT * FROM cbbo_1s
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Cbbo1m: consolidated BBO sampled each minute.
-- Rows of cbbo_1m for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Cbbo1m :many
SELECT * FROM cbbo_1m
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolTbbo: trades with the best bid and offer just before each (tbbo) of
-- symbols resolved per day; prices in 1e-9 units, times in ns.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolTbbo :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol, b.ts_recv, b.ts_event,
       b.publisher_id, b.action, b.side, b.price, b.size, b.flags, b.sequence,
       b.bid_px_00, b.ask_px_00, b.bid_sz_00, b.ask_sz_00, b.bid_ct_00, b.ask_ct_00
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM tbbo x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
ORDER BY b.ts, p.symbol, b.instrument_id, b.sequence
LIMIT sqlc.narg(row_limit)::bigint;
