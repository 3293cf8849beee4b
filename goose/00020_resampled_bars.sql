-- resampled_bars(source, dataset, symbols, start_ts, end_ts, bucket_seconds):
-- the bars of SYMBOLS (resolved per day by symbol_periods) in [start_ts,
-- end_ts) rolled up into buckets of bucket_seconds from one of Databento's
-- bar tables, source: ohlcv_1s, ohlcv_1m, ohlcv_1h or ohlcv_1d. The four
-- SymbolBarsFrom queries of sql/queries/bars.sql are this function with
-- their source, so the roll-up is written once. Buckets count from Monday
-- 1970-01-05 00:00 UTC (docs/queries.md, "Resampled intervals"); open is
-- the first source bar's open, high the max, low the min, close the last
-- bar's close, volume the sum, bar_count the source bars in the bucket;
-- ts_event is the bucket's start in nanoseconds. One UNION ALL behind
-- one-time filters on source, of which one part runs, each an index range
-- scan on (instrument_id, ts, ...) per symbol period. A single-SELECT
-- LANGUAGE sql function, neither STRICT nor VOLATILE: PostgreSQL inlines it
-- into the calling query, so a constant source leaves one part in the plan.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION resampled_bars(p_source text, p_dataset text, p_symbols text[], p_start timestamptz, p_end timestamptz, p_bucket_seconds bigint)
RETURNS TABLE (symbol text, instrument_id bigint, raw_symbol text, ts_event bigint, open bigint, high bigint, low bigint, close bigint, volume bigint, bar_count bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT p.symbol::text, b.instrument_id, p.raw_symbol::text,
           (extract(epoch FROM date_bin(make_interval(0, 0, 0, 0, 0, 0, p_bucket_seconds), b.ts, '1970-01-05 00:00:00+00'::timestamptz)) * 1000000000)::bigint,
           (array_agg(b.open ORDER BY b.ts))[1]::bigint,
           max(b.high)::bigint,
           min(b.low)::bigint,
           (array_agg(b.close ORDER BY b.ts DESC))[1]::bigint,
           sum(b.volume)::bigint,
           count(*)::bigint
    FROM symbol_periods(p_dataset, p_symbols, p_start, p_end) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
    CROSS JOIN LATERAL (
        -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, ...).
        SELECT x.instrument_id, x.ts, x.open, x.high, x.low, x.close, x.volume FROM ohlcv_1s x
        WHERE p_source = 'ohlcv_1s' AND x.dataset = p_dataset AND x.instrument_id = p.instrument_id AND x.ts >= p.from_ts AND x.ts < p.to_ts
        UNION ALL
        SELECT x.instrument_id, x.ts, x.open, x.high, x.low, x.close, x.volume FROM ohlcv_1m x
        WHERE p_source = 'ohlcv_1m' AND x.dataset = p_dataset AND x.instrument_id = p.instrument_id AND x.ts >= p.from_ts AND x.ts < p.to_ts
        UNION ALL
        SELECT x.instrument_id, x.ts, x.open, x.high, x.low, x.close, x.volume FROM ohlcv_1h x
        WHERE p_source = 'ohlcv_1h' AND x.dataset = p_dataset AND x.instrument_id = p.instrument_id AND x.ts >= p.from_ts AND x.ts < p.to_ts
        UNION ALL
        SELECT x.instrument_id, x.ts, x.open, x.high, x.low, x.close, x.volume FROM ohlcv_1d x
        WHERE p_source = 'ohlcv_1d' AND x.dataset = p_dataset AND x.instrument_id = p.instrument_id AND x.ts >= p.from_ts AND x.ts < p.to_ts
        OFFSET 0
    ) b
    GROUP BY 1, 2, 3, 4
$fn$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION resampled_bars(text, text, text[], timestamptz, timestamptz, bigint);
