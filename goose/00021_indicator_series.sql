-- indicator_series(dataset, symbols, start_ts, end_ts, interval): the bars
-- that Returns, RealizedVol and RsiAtr (sql/queries/indicators.sql) start
-- from, written once: each bar of the symbols in the range (resolved per
-- UTC day by symbol_periods, read by indicator_bars from the relation of the
-- interval (default 1d; another than 1s, 1m, 5m, 15m, 1h, 1h-rollup, 1d or
-- eod is an error), 00019) with prev_close, the previous close of the same
-- contract (the row before when it is of the same period, else
-- indicator_prev_close). The rows come in (symbol, from_ts, ts) order,
-- which is (symbol, ts): a symbol's periods are its UTC days. A
-- single-SELECT LANGUAGE sql function, neither STRICT nor VOLATILE:
-- PostgreSQL inlines it into the calling query, so the plan is that of the
-- query written out (no sort of the bars beyond each period's, and the
-- callers' windows over the same order add none).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION indicator_series(p_dataset text, p_symbols text[], p_start timestamptz, p_end timestamptz, p_interval text)
RETURNS TABLE (ts timestamptz, symbol text, from_ts timestamptz, high bigint, low bigint, close bigint, prev_close bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
WITH per AS (
    SELECT p.symbol, p.instrument_id, p.from_ts, p.to_ts
    FROM symbol_periods(p_dataset, p_symbols, p_start, p_end) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
    -- In (symbol, from_ts) order. A symbol's periods are its UTC days (every
    -- contract of a day has the day's from_ts), so (symbol, from_ts, ts) is
    -- (symbol, ts); the windows and the output use it, and the bars need
    -- sorting only within a period (an incremental sort of rows that the
    -- bar tables' index already returns in order), not as a whole.
    ORDER BY p.symbol, p.from_ts
), bars AS (
    SELECT per.symbol, per.instrument_id, per.from_ts, x.ts, x.high, x.low, x.close,
           lag(x.close) OVER o AS lag_close, lag(per.instrument_id) OVER o AS lag_instrument, lag(per.from_ts) OVER o AS lag_from
    -- The period's bars (goose/00019: a UNION ALL of the bar relations, inlined).
    -- An interval of none of the relations is an error, not an empty result:
    -- the failing cast is folded when the query is planned with its value, or
    -- runs with the first period.
    FROM per CROSS JOIN LATERAL indicator_bars(p_dataset,
        CASE WHEN coalesce(p_interval, '1d') IN ('1s', '1m', '5m', '15m', '1h', '1h-rollup', '1d', 'eod') THEN coalesce(p_interval, '1d')
             ELSE ('interval ' || p_interval || ' is none of 1s, 1m, 5m, 15m, 1h, 1h-rollup, 1d, eod')::date::text END,
        per.instrument_id, per.from_ts, per.to_ts) AS x(ts, high, low, close)
    WINDOW o AS (PARTITION BY per.symbol ORDER BY per.from_ts, x.ts)
)
-- Each bar with the previous close of its contract: the row before when
-- it is of the same period, else (a period's first bar) the close before
-- it, of the same contract (goose/00019: from the same table, or for a
-- roll-up the last minute of ohlcv_1m before its first bucket).
SELECT b.ts, b.symbol, b.from_ts, b.high, b.low, b.close,
       CASE WHEN b.lag_instrument = b.instrument_id AND b.lag_from = b.from_ts THEN b.lag_close
       ELSE indicator_prev_close(p_dataset, coalesce(p_interval, '1d'), b.instrument_id, b.ts) END AS prev_close
FROM bars b
-- The windows' order already: said, so the caller's windows add no sort.
ORDER BY b.symbol, b.from_ts, b.ts
$fn$;
-- +goose StatementEnd
COMMENT ON FUNCTION indicator_series(text, text[], timestamptz, timestamptz, text) IS
    'The bars of the symbols in the range from the relation of the interval, each with the previous close of its contract, in (symbol, ts) order; inlined into Returns, RealizedVol and RsiAtr.';

-- +goose Down
DROP FUNCTION indicator_series(text, text[], timestamptz, timestamptz, text);
