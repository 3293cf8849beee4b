-- Serving and charts (hdi serve, hdi query bars --adjust):
--   coverage_daily  rows loaded per table, dataset, instrument and UTC day,
--                   kept by the loader in each unit's transaction (and
--                   recounted where a replace-range or --force deleted), so
--                   coverage needs no scan of the market tables;
--   coverage        the same view as before (00004), now summed from
--                   coverage_daily instead of scanning every table;
--   contract_rolls  the rolls of continuous symbols with the prices that
--                   back-adjustment uses (docs/queries.md);
--   hdi_product     an exact product aggregate over numeric (ratio
--                   adjustment across several rolls).

-- +goose Up
CREATE TABLE coverage_daily (
    table_name    text        NOT NULL,
    dataset       text        NOT NULL,
    instrument_id bigint      NOT NULL,
    day           date        NOT NULL,
    row_count     bigint      NOT NULL,
    first_ts      timestamptz NOT NULL,
    last_ts       timestamptz NOT NULL,
    PRIMARY KEY (table_name, dataset, instrument_id, day)
);
CREATE INDEX coverage_daily_day_idx ON coverage_daily (day, table_name);

-- Existing data: count once, from every table with the market columns.
-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOR t IN
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
        WHERE c.table_schema = current_schema() AND c.column_name IN ('dataset', 'instrument_id', 'ts')
          AND c.table_name <> 'coverage_daily'
        GROUP BY c.table_name HAVING count(*) = 3
    LOOP
        EXECUTE format('INSERT INTO coverage_daily (table_name, dataset, instrument_id, day, row_count, first_ts, last_ts)
                        SELECT %L, dataset, instrument_id, (ts AT TIME ZONE ''UTC'')::date, count(*), min(ts), max(ts)
                        FROM %I WHERE dataset IS NOT NULL AND instrument_id IS NOT NULL
                        GROUP BY dataset, instrument_id, 4', t, t);
    END LOOP;
END $$;
-- +goose StatementEnd

CREATE OR REPLACE VIEW coverage AS
SELECT table_name, dataset, instrument_id, min(first_ts)::timestamptz AS first_ts, max(last_ts)::timestamptz AS last_ts,
       sum(row_count)::bigint AS row_count
FROM coverage_daily
GROUP BY table_name, dataset, instrument_id;

CREATE AGGREGATE hdi_product(numeric) (SFUNC = numeric_mul, STYPE = numeric, INITCOND = '1');

-- contract_rolls: for each continuous symbol of p_symbols, each day in
-- [p_start, p_end) on which it names another contract than the day before
-- (roll_day), with the old and the new contract and their daily closes
-- (ohlcv_1d, fixed-point 1e-9) on the old contract's last day with a bar
-- before the roll; when the new contract has no bar that day, its first
-- close on or after the roll day. NULL prices: no daily bar to take them
-- from.
-- +goose StatementBegin
CREATE FUNCTION contract_rolls(p_dataset text, p_symbols text[], p_start timestamptz, p_end timestamptz)
RETURNS TABLE (symbol text, roll_day date, old_instrument_id bigint, old_raw_symbol text, new_instrument_id bigint,
               new_raw_symbol text, old_close_day date, old_close bigint, new_close_day date, new_close bigint)
LANGUAGE sql STABLE
AS $fn$
WITH p AS (
    SELECT DISTINCT p.symbol, p.day, p.instrument_id, p.raw_symbol
    FROM symbol_periods(p_dataset, p_symbols, p_start, p_end) p
    WHERE p.symbol ~ '\.[cnv]\.[0-9]+$'
), r AS (
    SELECT p.symbol, p.day AS roll_day, p.instrument_id AS new_id, p.raw_symbol AS new_raw,
           lag(p.instrument_id) OVER w AS old_id, lag(p.raw_symbol) OVER w AS old_raw
    FROM p WINDOW w AS (PARTITION BY p.symbol ORDER BY p.day)
), rolls AS (
    SELECT r.*, (SELECT o.ts FROM ohlcv_1d o WHERE o.dataset = p_dataset AND o.instrument_id = r.old_id
                   AND o.ts < r.roll_day ORDER BY o.ts DESC LIMIT 1) AS old_ts
    FROM r WHERE r.old_id IS NOT NULL AND r.old_id <> r.new_id
)
SELECT rolls.symbol, rolls.roll_day, rolls.old_id, rolls.old_raw, rolls.new_id, rolls.new_raw,
       (old.ts AT TIME ZONE 'UTC')::date, old.close,
       (coalesce(same.ts, later.ts) AT TIME ZONE 'UTC')::date, coalesce(same.close, later.close)
FROM rolls
LEFT JOIN ohlcv_1d old ON old.dataset = p_dataset AND old.instrument_id = rolls.old_id AND old.ts = rolls.old_ts
LEFT JOIN ohlcv_1d same ON same.dataset = p_dataset AND same.instrument_id = rolls.new_id AND same.ts = rolls.old_ts
LEFT JOIN LATERAL (SELECT o.ts, o.close FROM ohlcv_1d o WHERE o.dataset = p_dataset AND o.instrument_id = rolls.new_id
                     AND o.ts >= rolls.roll_day ORDER BY o.ts LIMIT 1) later ON same.ts IS NULL
ORDER BY rolls.symbol, rolls.roll_day
$fn$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION contract_rolls(text, text[], timestamptz, timestamptz);
DROP AGGREGATE hdi_product(numeric);
CREATE OR REPLACE VIEW coverage AS
SELECT 'mbo'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM mbo GROUP BY dataset, instrument_id
UNION ALL
SELECT 'mbp_1'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM mbp_1 GROUP BY dataset, instrument_id
UNION ALL
SELECT 'mbp_10'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM mbp_10 GROUP BY dataset, instrument_id
UNION ALL
SELECT 'tbbo'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM tbbo GROUP BY dataset, instrument_id
UNION ALL
SELECT 'trades'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM trades GROUP BY dataset, instrument_id
UNION ALL
SELECT 'bbo_1s'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM bbo_1s GROUP BY dataset, instrument_id
UNION ALL
SELECT 'bbo_1m'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM bbo_1m GROUP BY dataset, instrument_id
UNION ALL
SELECT 'cmbp_1'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM cmbp_1 GROUP BY dataset, instrument_id
UNION ALL
SELECT 'tcbbo'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM tcbbo GROUP BY dataset, instrument_id
UNION ALL
SELECT 'cbbo_1s'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM cbbo_1s GROUP BY dataset, instrument_id
UNION ALL
SELECT 'cbbo_1m'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM cbbo_1m GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_1s'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_1s GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_1m'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_1m GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_1h'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_1h GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_1d'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_1d GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_eod'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_eod GROUP BY dataset, instrument_id
UNION ALL
SELECT 'statistics'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM statistics GROUP BY dataset, instrument_id
UNION ALL
SELECT 'status'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM status GROUP BY dataset, instrument_id
UNION ALL
SELECT 'imbalance'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM imbalance GROUP BY dataset, instrument_id
UNION ALL
SELECT 'definition'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM definition GROUP BY dataset, instrument_id;
DROP TABLE coverage_daily;
