-- Bars: Databento's ohlcv schemas and the roll-ups (views on plain
-- PostgreSQL, continuous aggregates on TimescaleDB).

-- Ohlcv1s: one-second bars.
-- Rows of ohlcv_1s for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Ohlcv1s :many
SELECT * FROM ohlcv_1s
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Ohlcv1m: one-minute bars.
-- Rows of ohlcv_1m for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Ohlcv1m :many
SELECT * FROM ohlcv_1m
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Ohlcv1h: one-hour bars.
-- Rows of ohlcv_1h for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Ohlcv1h :many
SELECT * FROM ohlcv_1h
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Ohlcv1d: daily bars (UTC date).
-- Rows of ohlcv_1d for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: Ohlcv1d :many
SELECT * FROM ohlcv_1d
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- OhlcvEod: daily bars (trading session).
-- Rows of ohlcv_eod for a dataset and instrument ids in the half-open time range
-- [start_ts, end_ts) of ts, in time order; at most row_limit rows (NULL: all).
-- name: OhlcvEod :many
SELECT * FROM ohlcv_eod
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- Bars5m: 5-minute bars rolled up from ohlcv_1m.
-- Bars for a dataset and instrument ids with bucket start in [start_ts, end_ts).
-- name: Bars5m :many
SELECT dataset, instrument_id, ts, open, high, low, close, volume, bar_count
FROM bars_5m
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id;

-- Bars15m: 15-minute bars rolled up from ohlcv_1m.
-- Bars for a dataset and instrument ids with bucket start in [start_ts, end_ts).
-- name: Bars15m :many
SELECT dataset, instrument_id, ts, open, high, low, close, volume, bar_count
FROM bars_15m
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id;

-- Bars1h: 1-hour bars rolled up from ohlcv_1m.
-- Bars for a dataset and instrument ids with bucket start in [start_ts, end_ts).
-- name: Bars1h :many
SELECT dataset, instrument_id, ts, open, high, low, close, volume, bar_count
FROM bars_1h
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id;

-- TradeBars1m: 1-minute bars built from trades (bucketed on ts_recv).
-- Bars for a dataset and instrument ids with bucket start in [start_ts, end_ts).
-- name: TradeBars1m :many
SELECT dataset, instrument_id, ts, open, high, low, close, volume, trade_count
FROM trade_bars_1m
WHERE dataset = @dataset
  AND instrument_id = ANY(@instrument_ids::bigint[])
  AND ts >= @start_ts AND ts < @end_ts
ORDER BY ts, instrument_id;

-- Bars by symbol. Each query below resolves the comma-separated SYMBOLS
-- (raw ESH4, parent ES.FUT, continuous ES.c.0 / .v. / .n., or an instrument
-- id) in DATASET per UTC day through symbol_mappings (and definitions for raw
-- symbols without mappings), and returns the bars of the instrument each
-- symbol named that day: across a roll, each day's bars come from the
-- contract mapped on that day, with no gap and no overlap. Every row carries
-- the symbol asked for, the instrument id and the contract's raw symbol.
-- Prices are fixed-point bigint (1e-9 units, shown as exact decimals by hdi
-- query), ts_event is nanoseconds since the epoch (the bar's open time).
-- start_ts/end_ts are the half-open range [start_ts, end_ts) of ts; hdi query
-- turns a date-only end_ts into the next midnight, so the day is included.
-- row_limit may be NULL (no limit).

-- SymbolBars1s: one-second bars (Databento ohlcv-1s) of symbols resolved per day.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolBars1s :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol, b.ts_event,
       b.open, b.high, b.low, b.close, b.volume
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM ohlcv_1s x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
ORDER BY b.ts, p.symbol, b.instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBars1m: one-minute bars (Databento ohlcv-1m) of symbols resolved per day.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolBars1m :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol, b.ts_event,
       b.open, b.high, b.low, b.close, b.volume
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM ohlcv_1m x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
ORDER BY b.ts, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBars1h: one-hour bars (Databento ohlcv-1h) of symbols resolved per day.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolBars1h :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol, b.ts_event,
       b.open, b.high, b.low, b.close, b.volume
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM ohlcv_1h x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
ORDER BY b.ts, p.symbol, b.instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBars1d: daily bars on the UTC date (Databento ohlcv-1d) of symbols resolved per day.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolBars1d :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol, b.ts_event,
       b.open, b.high, b.low, b.close, b.volume
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM ohlcv_1d x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
ORDER BY b.ts, p.symbol, b.instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBarsEod: daily bars on the trading session (Databento ohlcv-eod) of symbols resolved per day.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolBarsEod :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol, b.ts_event,
       b.open, b.high, b.low, b.close, b.volume
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM ohlcv_eod x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
ORDER BY b.ts, p.symbol, b.instrument_id
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBars5m: 5-minute bars rolled up from ohlcv_1m (as the bars_* roll-ups:
-- buckets from 2000-01-03 00:00 UTC, open of the first and close of the last
-- minute) of symbols resolved per day; bar_count is the minutes in the bucket.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolBars5m :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol,
       (extract(epoch FROM date_bin('5 minutes'::interval, b.ts, '2000-01-03 00:00:00+00'::timestamptz)) * 1000000000)::bigint AS ts_event,
       (array_agg(b.open ORDER BY b.ts_event))[1]::bigint AS open,
       max(b.high)::bigint AS high,
       min(b.low)::bigint AS low,
       (array_agg(b.close ORDER BY b.ts_event DESC))[1]::bigint AS close,
       sum(b.volume)::bigint AS volume,
       count(*)::bigint AS bar_count
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM ohlcv_1m x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
GROUP BY p.symbol, b.instrument_id, p.raw_symbol, date_bin('5 minutes'::interval, b.ts, '2000-01-03 00:00:00+00'::timestamptz)
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBars15m: 15-minute bars rolled up from ohlcv_1m (as the bars_* roll-ups:
-- buckets from 2000-01-03 00:00 UTC, open of the first and close of the last
-- minute) of symbols resolved per day; bar_count is the minutes in the bucket.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolBars15m :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol,
       (extract(epoch FROM date_bin('15 minutes'::interval, b.ts, '2000-01-03 00:00:00+00'::timestamptz)) * 1000000000)::bigint AS ts_event,
       (array_agg(b.open ORDER BY b.ts_event))[1]::bigint AS open,
       max(b.high)::bigint AS high,
       min(b.low)::bigint AS low,
       (array_agg(b.close ORDER BY b.ts_event DESC))[1]::bigint AS close,
       sum(b.volume)::bigint AS volume,
       count(*)::bigint AS bar_count
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM ohlcv_1m x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
GROUP BY p.symbol, b.instrument_id, p.raw_symbol, date_bin('15 minutes'::interval, b.ts, '2000-01-03 00:00:00+00'::timestamptz)
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBarsRollup1h: 1-hour bars rolled up from ohlcv_1m (as the bars_* roll-ups:
-- buckets from 2000-01-03 00:00 UTC, open of the first and close of the last
-- minute) of symbols resolved per day; bar_count is the minutes in the bucket.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolBarsRollup1h :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol,
       (extract(epoch FROM date_bin('1 hour'::interval, b.ts, '2000-01-03 00:00:00+00'::timestamptz)) * 1000000000)::bigint AS ts_event,
       (array_agg(b.open ORDER BY b.ts_event))[1]::bigint AS open,
       max(b.high)::bigint AS high,
       min(b.low)::bigint AS low,
       (array_agg(b.close ORDER BY b.ts_event DESC))[1]::bigint AS close,
       sum(b.volume)::bigint AS volume,
       count(*)::bigint AS bar_count
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM ohlcv_1m x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
GROUP BY p.symbol, b.instrument_id, p.raw_symbol, date_bin('1 hour'::interval, b.ts, '2000-01-03 00:00:00+00'::timestamptz)
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolTradeBars1m: 1-minute bars built from trades (as trade_bars_1m:
-- bucketed on ts = ts_recv, open/close by ts_recv then sequence) of symbols
-- resolved per day; trade_count is the trades in the bucket.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: SymbolTradeBars1m :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol,
       (extract(epoch FROM date_bin('1 minute'::interval, b.ts, '2000-01-03 00:00:00+00'::timestamptz)) * 1000000000)::bigint AS ts_event,
       (array_agg(b.price ORDER BY b.ts_recv, b.sequence))[1]::bigint AS open,
       max(b.price)::bigint AS high,
       min(b.price)::bigint AS low,
       (array_agg(b.price ORDER BY b.ts_recv DESC, b.sequence DESC))[1]::bigint AS close,
       sum(b.size)::bigint AS volume,
       count(*)::bigint AS trade_count
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM trades x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
GROUP BY p.symbol, b.instrument_id, p.raw_symbol, date_bin('1 minute'::interval, b.ts, '2000-01-03 00:00:00+00'::timestamptz)
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- Resampled bars (hdi query bars --interval 3m, 30m, 4h, 2d, 1w, ...): bars
-- of any width of whole seconds (bucket_seconds), rolled up at query time
-- from one source, of symbols resolved per day. Buckets are aligned to
-- Monday 1970-01-05 00:00 UTC, the first Monday of the Unix epoch: bucket k
-- is [origin + k·width, origin + (k+1)·width), so widths that divide a day
-- start at UTC midnight and weeks on Monday 00:00 UTC. open is the first
-- source bar's open, high the max, low the min, close the last bar's close,
-- volume the sum (exact: bigint prices, no floats); ts_event is the
-- bucket's start; a bucket spanning a roll has one row per contract, and
-- one cut by the range holds only the bars inside it. The four
-- SymbolBarsFrom queries are resampled_bars (goose/00020) of their source
-- table, which PostgreSQL inlines.

-- SymbolBarsFrom1s: bars of bucket_seconds (a multiple of 1 second) rolled up from ohlcv_1s
-- (Databento's ohlcv bars); bar_count is the source bars in the bucket.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param bucket_seconds bigint "bar width in seconds, a multiple of 1 second"
-- name: SymbolBarsFrom1s :many
SELECT r.symbol::text AS symbol, r.instrument_id::bigint AS instrument_id, r.raw_symbol::text AS raw_symbol, r.ts_event::bigint AS ts_event,
       r.open::bigint AS open, r.high::bigint AS high, r.low::bigint AS low, r.close::bigint AS close, r.volume::bigint AS volume, r.bar_count::bigint AS bar_count
FROM resampled_bars('ohlcv_1s', @dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz, @bucket_seconds::bigint)
     AS r(symbol, instrument_id, raw_symbol, ts_event, open, high, low, close, volume, bar_count)
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBarsFrom1m: bars of bucket_seconds (a multiple of 60 seconds) rolled up from ohlcv_1m
-- (Databento's ohlcv bars); bar_count is the source bars in the bucket.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param bucket_seconds bigint "bar width in seconds, a multiple of 60 seconds"
-- name: SymbolBarsFrom1m :many
SELECT r.symbol::text AS symbol, r.instrument_id::bigint AS instrument_id, r.raw_symbol::text AS raw_symbol, r.ts_event::bigint AS ts_event,
       r.open::bigint AS open, r.high::bigint AS high, r.low::bigint AS low, r.close::bigint AS close, r.volume::bigint AS volume, r.bar_count::bigint AS bar_count
FROM resampled_bars('ohlcv_1m', @dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz, @bucket_seconds::bigint)
     AS r(symbol, instrument_id, raw_symbol, ts_event, open, high, low, close, volume, bar_count)
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBarsFrom1h: bars of bucket_seconds (a multiple of 3600 seconds) rolled up from ohlcv_1h
-- (Databento's ohlcv bars); bar_count is the source bars in the bucket.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param bucket_seconds bigint "bar width in seconds, a multiple of 3600 seconds"
-- name: SymbolBarsFrom1h :many
SELECT r.symbol::text AS symbol, r.instrument_id::bigint AS instrument_id, r.raw_symbol::text AS raw_symbol, r.ts_event::bigint AS ts_event,
       r.open::bigint AS open, r.high::bigint AS high, r.low::bigint AS low, r.close::bigint AS close, r.volume::bigint AS volume, r.bar_count::bigint AS bar_count
FROM resampled_bars('ohlcv_1h', @dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz, @bucket_seconds::bigint)
     AS r(symbol, instrument_id, raw_symbol, ts_event, open, high, low, close, volume, bar_count)
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBarsFrom1d: bars of bucket_seconds (a multiple of 86400 seconds) rolled up from ohlcv_1d
-- (Databento's ohlcv bars); bar_count is the source bars in the bucket.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param bucket_seconds bigint "bar width in seconds, a multiple of 86400 seconds"
-- name: SymbolBarsFrom1d :many
SELECT r.symbol::text AS symbol, r.instrument_id::bigint AS instrument_id, r.raw_symbol::text AS raw_symbol, r.ts_event::bigint AS ts_event,
       r.open::bigint AS open, r.high::bigint AS high, r.low::bigint AS low, r.close::bigint AS close, r.volume::bigint AS volume, r.bar_count::bigint AS bar_count
FROM resampled_bars('ohlcv_1d', @dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz, @bucket_seconds::bigint)
     AS r(symbol, instrument_id, raw_symbol, ts_event, open, high, low, close, volume, bar_count)
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolTradeBarsFrom: bars of bucket_seconds (a multiple of 1 second) rolled up from trades
-- (bucketed on ts = ts_recv as trade_bars_1m, open and close by ts_recv then sequence); trade_count is the trades in the bucket.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param bucket_seconds bigint "bar width in seconds, a multiple of 1 second"
-- name: SymbolTradeBarsFrom :many
SELECT p.symbol::text AS symbol, b.instrument_id, p.raw_symbol::text AS raw_symbol,
       (extract(epoch FROM date_bin(make_interval(0, 0, 0, 0, 0, 0, @bucket_seconds::bigint), b.ts, '1970-01-05 00:00:00+00'::timestamptz)) * 1000000000)::bigint AS ts_event,
       (array_agg(b.price ORDER BY b.ts_recv, b.sequence))[1]::bigint AS open,
       max(b.price)::bigint AS high,
       min(b.price)::bigint AS low,
       (array_agg(b.price ORDER BY b.ts_recv DESC, b.sequence DESC))[1]::bigint AS close,
       sum(b.size)::bigint AS volume,
       count(*)::bigint AS trade_count
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
    SELECT * FROM trades x
    WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
      AND x.ts >= p.from_ts AND x.ts < p.to_ts
    OFFSET 0
) b
GROUP BY 1, 2, 3, 4
ORDER BY 4, 1, 2
LIMIT sqlc.narg(row_limit)::bigint;

-- SymbolBarSources: which tables hold rows of SYMBOLS (resolved per day)
-- in [start_ts, end_ts): the sources hdi query bars resamples from (the
-- finest bar table whose width divides the interval, else trades).
-- name: SymbolBarSources :one
WITH p AS (
    SELECT p.instrument_id, p.from_ts, p.to_ts
    FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
)
SELECT EXISTS (SELECT 1 FROM p WHERE EXISTS (SELECT 1 FROM ohlcv_1s x WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id AND x.ts >= p.from_ts AND x.ts < p.to_ts))::boolean AS ohlcv_1s,
       EXISTS (SELECT 1 FROM p WHERE EXISTS (SELECT 1 FROM ohlcv_1m x WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id AND x.ts >= p.from_ts AND x.ts < p.to_ts))::boolean AS ohlcv_1m,
       EXISTS (SELECT 1 FROM p WHERE EXISTS (SELECT 1 FROM ohlcv_1h x WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id AND x.ts >= p.from_ts AND x.ts < p.to_ts))::boolean AS ohlcv_1h,
       EXISTS (SELECT 1 FROM p WHERE EXISTS (SELECT 1 FROM ohlcv_1d x WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id AND x.ts >= p.from_ts AND x.ts < p.to_ts))::boolean AS ohlcv_1d;

-- ContractRolls: the rolls of continuous symbols (ES.c.0) in a date range,
-- with the daily closes of both contracts that back-adjustment (hdi query
-- bars --adjust) takes: the old contract's last daily close before the
-- roll, and the new contract's close that day (else its first one after);
-- priced is false where a daily bar is missing (the closes are then 0).
-- @param symbols text[] "continuous symbols, comma-separated: ES.c.0, NQ.v.0"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: ContractRolls :many
SELECT r.symbol::text AS symbol, r.roll_day::date AS roll_day, r.old_instrument_id::bigint AS old_instrument_id,
       r.old_raw_symbol::text AS old_raw_symbol, r.new_instrument_id::bigint AS new_instrument_id,
       r.new_raw_symbol::text AS new_raw_symbol,
       (r.old_close IS NOT NULL AND r.new_close IS NOT NULL)::boolean AS priced,
       coalesce(r.old_close_day, r.roll_day)::date AS old_close_day, coalesce(r.old_close, 0)::bigint AS old_close,
       coalesce(r.new_close_day, r.roll_day)::date AS new_close_day, coalesce(r.new_close, 0)::bigint AS new_close
FROM contract_rolls(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz)
     AS r(symbol, roll_day, old_instrument_id, old_raw_symbol, new_instrument_id, new_raw_symbol,
          old_close_day, old_close, new_close_day, new_close);
