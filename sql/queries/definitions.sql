-- Instrument definitions (schema definition) and the instruments view.

-- Definitions: definition records (every version, every leg) for a dataset
-- and instrument ids received in [start_ts, end_ts).
-- name: Definitions :many
SELECT * FROM definition
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id, leg_index
LIMIT sqlc.narg(row_limit)::bigint;

-- InstrumentAt: the definition of an instrument valid at a time (the latest
-- one received at or before it), leg 0 for spreads.
-- name: InstrumentAt :one
SELECT * FROM definition
WHERE dataset = @dataset
  AND instrument_id = @instrument_id
  AND ts <= @at
  AND leg_index = 0
ORDER BY ts DESC
LIMIT 1;

-- InstrumentHistory: every definition version of an instrument, with its
-- validity interval [valid_from, valid_to).
-- name: InstrumentHistory :many
SELECT * FROM instruments
WHERE dataset = @dataset
  AND instrument_id = @instrument_id
ORDER BY valid_from;

-- SymbolDefinitions: definition records (every version, every leg) of
-- symbols resolved per day, received in [start_ts, end_ts), with the symbol
-- asked for; prices in 1e-9 units, times in ns.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolDefinitions :many
SELECT p.symbol::text AS symbol, b.instrument_id, b.raw_symbol, b.ts_recv, b.ts_event,
       b.security_update_action, b.instrument_class, b.exchange, b.asset,
       b."group", b.security_type, b.cfi, b.currency, b.underlying,
       b.expiration, b.activation, b.min_price_increment, b.display_factor,
       b.contract_multiplier, b.unit_of_measure, b.unit_of_measure_qty,
       b.strike_price, b.high_limit_price, b.low_limit_price,
       b.maturity_year, b.maturity_month, b.leg_count, b.leg_index
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM definition x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
ORDER BY b.ts, p.symbol, b.instrument_id, b.leg_index
LIMIT sqlc.narg(row_limit)::bigint;

-- Instruments: the current definition of every instrument of a dataset
-- (the instruments view, valid_to NULL), optionally only raw symbols starting
-- with a prefix.
-- @param prefix text "raw symbol prefix (omit: all)"
-- name: Instruments :many
SELECT dataset, instrument_id, raw_symbol, instrument_class, exchange, asset,
       "group", security_type, underlying, expiration, min_price_increment,
       display_factor, contract_multiplier, unit_of_measure, currency,
       strike_price, valid_from
FROM instruments
WHERE dataset = @dataset AND valid_to IS NULL
  AND (sqlc.narg(prefix)::text IS NULL OR starts_with(raw_symbol, sqlc.narg(prefix)::text))
ORDER BY raw_symbol, instrument_id;
