-- Helpers of the indicator queries (sql/queries/indicators.sql).
--
-- indicator_bars(dataset, interval, instrument_id, from_ts, to_ts): the
-- bars of one instrument in [from_ts, to_ts) with a high, low and close,
-- from the relation of the interval: 1s, 1m, 1h, 1d, eod Databento's
-- ohlcv_* tables; 5m, 15m, 1h-rollup the roll-ups bars_5m, bars_15m,
-- bars_1h (views, or TimescaleDB's continuous aggregates). One UNION ALL
-- behind one-time filters on the interval, of which one part runs. A
-- single-SELECT LANGUAGE sql function that is neither STRICT nor VOLATILE:
-- PostgreSQL inlines it into the calling query (LATERAL, per period), so
-- the plan is that of the UNION ALL written out, each part an index range
-- scan on (instrument_id, ts, ...) returning the bars in time order.
--
-- indicator_prev_close(dataset, interval, instrument_id, ts): the close of
-- the instrument's last bar (with a high, low and close) before ts, from
-- the same table; for a roll-up interval the last minute of ohlcv_1m
-- before ts (a bucket closes at its last minute's close). NULL if none.
-- One backward index probe; the queries call it only for a period's first
-- bar (the other bars take the row before).
--
-- Running EMA and Wilder smoothing over the stored fixed-point prices
-- (bigint, units of 1e-9), for the indicator queries
-- (sql/queries/indicators.sql). The same recursions as ema_running and
-- wilder_running (00017), with the state in units of 1e-9 rather than in
-- price units: the step then adds a bigint to a numeric, in place of
-- turning every value into a scale-9 decimal first, and divides once in
-- place of twice. Callers multiply the result by 0.000000001 (exact).
--
-- Both take x (the row's fixed-point value), k (the row's 1-based position
-- in the window's order, row_number()) and n (the smoothing length). Until
-- k = n the state is the sum of the values so far (callers show NULL
-- there); at k = n it is the mean of the first n values (the seed), at 11
-- decimal places of the unit; after it
--   ema_running_fixed:    round((2 * x + (n - 1) * previous) / (n + 1), 11)
--   wilder_running_fixed: round(((n - 1) * previous + x) / n, 11)
-- 11 decimal places of 1e-9 are the 20 decimal places of a price that
-- ema_running and wilder_running carry. The step is one plpgsql CASE
-- expression: a LANGUAGE sql step is not inlined as a transition function
-- and measured twice as slow (docs/BENCHMARKS.md, "Indicator queries").

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION indicator_bars(p_dataset text, p_interval text, p_instrument_id bigint, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (ts timestamptz, high bigint, low bigint, close bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT y.ts, y.high, y.low, y.close FROM ohlcv_1s y WHERE p_interval = '1s' AND y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts >= p_from AND y.ts < p_to
        AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL
    UNION ALL
    SELECT y.ts, y.high, y.low, y.close FROM ohlcv_1m y WHERE p_interval = '1m' AND y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts >= p_from AND y.ts < p_to
        AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL
    UNION ALL
    SELECT y.ts, y.high, y.low, y.close FROM bars_5m y WHERE p_interval = '5m' AND y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts >= p_from AND y.ts < p_to
        AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL
    UNION ALL
    SELECT y.ts, y.high, y.low, y.close FROM bars_15m y WHERE p_interval = '15m' AND y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts >= p_from AND y.ts < p_to
        AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL
    UNION ALL
    SELECT y.ts, y.high, y.low, y.close FROM ohlcv_1h y WHERE p_interval = '1h' AND y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts >= p_from AND y.ts < p_to
        AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL
    UNION ALL
    SELECT y.ts, y.high, y.low, y.close FROM bars_1h y WHERE p_interval = '1h-rollup' AND y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts >= p_from AND y.ts < p_to
        AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL
    UNION ALL
    SELECT y.ts, y.high, y.low, y.close FROM ohlcv_1d y WHERE p_interval = '1d' AND y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts >= p_from AND y.ts < p_to
        AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL
    UNION ALL
    SELECT y.ts, y.high, y.low, y.close FROM ohlcv_eod y WHERE p_interval = 'eod' AND y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts >= p_from AND y.ts < p_to
        AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL
$fn$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION indicator_prev_close(p_dataset text, p_interval text, p_instrument_id bigint, p_ts timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT CASE p_interval
        WHEN '1s' THEN (SELECT y.close FROM ohlcv_1s y WHERE y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts < p_ts
                AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL ORDER BY y.ts DESC LIMIT 1)
        WHEN '1m' THEN (SELECT y.close FROM ohlcv_1m y WHERE y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts < p_ts
                AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL ORDER BY y.ts DESC LIMIT 1)
        WHEN '1h' THEN (SELECT y.close FROM ohlcv_1h y WHERE y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts < p_ts
                AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL ORDER BY y.ts DESC LIMIT 1)
        WHEN '1d' THEN (SELECT y.close FROM ohlcv_1d y WHERE y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts < p_ts
                AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL ORDER BY y.ts DESC LIMIT 1)
        WHEN 'eod' THEN (SELECT y.close FROM ohlcv_eod y WHERE y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts < p_ts
                AND y.high IS NOT NULL AND y.low IS NOT NULL AND y.close IS NOT NULL ORDER BY y.ts DESC LIMIT 1)
        ELSE (SELECT y.close FROM ohlcv_1m y WHERE y.dataset = p_dataset AND y.instrument_id = p_instrument_id AND y.ts < p_ts
                AND y.close IS NOT NULL ORDER BY y.ts DESC LIMIT 1)
    END
$fn$;
-- +goose StatementEnd
COMMENT ON FUNCTION indicator_bars(text, text, bigint, timestamptz, timestamptz) IS
    'The bars of an instrument in [from, to) with a high, low and close, from the relation of the interval (1s, 1m, 5m, 15m, 1h, 1h-rollup, 1d, eod); inlined into the indicator queries.';
COMMENT ON FUNCTION indicator_prev_close(text, text, bigint, timestamptz) IS
    'The close of the instrument''s last bar before ts in the relation of the interval (a roll-up: the last minute of ohlcv_1m); NULL if none.';
-- +goose StatementBegin
CREATE FUNCTION ema_running_fixed_step(s numeric, x bigint, k bigint, n integer) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
    RETURN CASE WHEN k > n THEN round((2 * x::numeric + (n - 1) * s) / (n + 1), 11)
                WHEN k < n THEN coalesce(s, 0) + x
                ELSE round((coalesce(s, 0) + x) * 1.00000000000 / n, 11) END;
END
$fn$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION wilder_running_fixed_step(s numeric, x bigint, k bigint, n integer) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
    RETURN CASE WHEN k > n THEN round(((n - 1) * s + x) / n, 11)
                WHEN k < n THEN coalesce(s, 0) + x
                ELSE round((coalesce(s, 0) + x) * 1.00000000000 / n, 11) END;
END
$fn$;
-- +goose StatementEnd
CREATE AGGREGATE ema_running_fixed(bigint, bigint, integer) (SFUNC = ema_running_fixed_step, STYPE = numeric);
CREATE AGGREGATE wilder_running_fixed(bigint, bigint, integer) (SFUNC = wilder_running_fixed_step, STYPE = numeric);
COMMENT ON AGGREGATE ema_running_fixed(bigint, bigint, integer) IS
    'EMA of fixed-point x (1e-9 units, result in the same units) over n rows, seeded with the mean of the first n; as a running window aggregate with k = row_number() (NULL-free x).';
COMMENT ON AGGREGATE wilder_running_fixed(bigint, bigint, integer) IS
    'Wilder''s smoothing of fixed-point x (1e-9 units, result in the same units) over n rows, seeded with the mean of the first n; as a running window aggregate with k = row_number() (NULL-free x).';

-- +goose Down
DROP FUNCTION indicator_prev_close(text, text, bigint, timestamptz);
DROP FUNCTION indicator_bars(text, text, bigint, timestamptz, timestamptz);
DROP AGGREGATE wilder_running_fixed(bigint, bigint, integer);
DROP AGGREGATE ema_running_fixed(bigint, bigint, integer);
DROP FUNCTION wilder_running_fixed_step(numeric, bigint, bigint, integer);
DROP FUNCTION ema_running_fixed_step(numeric, bigint, bigint, integer);
