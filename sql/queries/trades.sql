-- Trades (schema trades).

-- Trades: rows of trades for a dataset and instrument ids in the half-open
-- time range [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Trades :many
SELECT * FROM trades
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id, sequence
LIMIT sqlc.narg(row_limit)::bigint;

-- TradesDecimal: the same rows as Trades with exact decimal prices and
-- nanosecond ISO 8601 times (trades_v).
-- name: TradesDecimal :many
SELECT * FROM trades_v
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id, sequence
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolTrades: trades of symbols resolved per day (see bars.sql), with the
-- symbol asked for, the instrument id and the contract's raw symbol; prices
-- in 1e-9 units, ts_recv/ts_event in ns.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolTrades :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol, b.ts_recv, b.ts_event,
       b.publisher_id, b.action, b.side, b.depth, b.price, b.size, b.flags,
       b.ts_in_delta, b.sequence
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM trades x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
ORDER BY b.ts, p.symbol, b.instrument_id, b.sequence
LIMIT sqlc.narg(row_limit)::bigint;
